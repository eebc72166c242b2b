"""manage.py backup_case <slug> -o FILE: a complete, versioned JSON snapshot of one case."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...backups import case_backup, case_backup_to_file
from ...models import Case


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
        try:
            case_obj = Case.objects.get(slug=case)
        except Case.DoesNotExist:
            raise CommandError(f"No case with slug {case!r}.") from None
        if output == "-":
            case_backup(case=case_obj, stream=sys.stdout)
            return
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"No directory {path.parent} to write {path.name} in.")
        try:
            report = case_backup_to_file(case=case_obj, path=path)
        except OSError as error:
            raise CommandError(f"Could not write {path}: {error}") from None
        rows = sum(report.counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"{case_obj.slug}: {rows} rows backed up to {path}")
        )
        for name, count in report.counts.items():
            self.stdout.write(f"  {count} {name}")
