"""manage.py import_timeline <case> FILE.csv [--dry-run]: read a timeline CSV into a case."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ... import selectors
from ...imports import ImportReport, TimelineImportError, timeline_import
from ...models import Case


class Command(BaseCommand):
    help = (
        "Import events from a timeline CSV (this site's export, see docs/csv.md, or a "
        "TimelineJS sheet) into a case. Rows with an existing id update that event; a "
        "file with any problem writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("case", help="The case slug, e.g. musk-v-openai.")
        parser.add_argument("file", type=Path, help="The CSV file to import.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report, write nothing."
        )

    def handle(self, *args, case: str, file: Path, dry_run: bool, **options) -> None:
        try:
            case_obj = selectors.case_get(slug=case)
        except Case.DoesNotExist:
            raise CommandError(f"No case with the slug {case!r}.") from None
        try:
            file_bytes = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            report = timeline_import(
                case=case_obj, file_bytes=file_bytes, dry_run=dry_run
            )
        except TimelineImportError as error:
            raise CommandError(
                f"{file} was not imported; nothing was written.\n"
                + "\n".join(error.problems)
            ) from None
        self._print(report, case_obj)

    def _print(self, report: ImportReport, case: Case) -> None:
        verb = "would import" if report.dry_run else "imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{case.slug}: {verb} {report.created} new, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.skipped} skipped"
                + (" (dry run: nothing was written)" if report.dry_run else "")
            )
        )
        if report.related_created:
            self.stdout.write(f"  also created: {report.related_text}")
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"  {warning}"))
