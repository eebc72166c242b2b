"""manage.py backup_case <slug> -o FILE: a complete, versioned JSON snapshot of one case."""

import sys

from django.core.management.base import BaseCommand

from ...backups import case_backup
from ..case_commands import backup_to, case_named


class Command(BaseCommand):
    help = (
        "Write every row of a case (with ids and timestamps) to a JSON backup that "
        "restore_case can put back. A name ending in .gz is gzip-compressed; - writes "
        "to standard output. Rows are streamed, so memory stays flat for big cases."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("case", help="The case slug, e.g. musk-v-openai.")
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            help="File to write (- for standard output). Written whole or not at all.",
        )

    def handle(self, *args, case: str, output: str, **options) -> None:
        case_obj = case_named(case)
        if output == "-":
            case_backup(case=case_obj, stream=sys.stdout)
            return
        report = backup_to(case_obj, output)
        rows = sum(report.counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"{case_obj.slug}: {rows} rows backed up to {output}")
        )
        for name, count in report.counts.items():
            self.stdout.write(f"  {count} {name}")
