"""manage.py load_case <slug> [--file PATH] [--dry-run]: load a case from its data file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...services import CaseDataError, case_data_path, case_data_read, case_load


class Command(BaseCommand):
    help = (
        "Load or refresh a case from casetracker/data/<slug>.json (or --file). Idempotent: "
        "only rows that differ are written; a bad file writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The case slug, e.g. musk-v-openai.")
        parser.add_argument(
            "--file", type=Path, help="Read this file instead of the bundled one."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report, write nothing."
        )

    def handle(
        self, *args, slug: str, file: Path | None, dry_run: bool, **options
    ) -> None:
        path = file or case_data_path(slug)
        try:
            data = case_data_read(path)
            case = data.get("case") if isinstance(data, dict) else None
            case_slug = case.get("slug") if isinstance(case, dict) else None
            if case_slug is not None and case_slug != slug:
                raise CaseDataError([f"{path} holds case {case_slug!r}, not {slug!r}."])
            case, report = case_load(data=data, dry_run=dry_run)
        except CaseDataError as error:
            raise CommandError(
                f"{path} was not loaded; nothing was written.\n"
                + "\n".join(error.problems)
            ) from None
        if not report.changed:
            self.stdout.write(f"{case.slug}: already up to date; nothing changed.")
            return
        verb = "would change" if dry_run else "loaded"
        self.stdout.write(self.style.SUCCESS(f"{case.slug}: {verb}"))
        for label, counts in (("created", report.created), ("updated", report.updated)):
            for name, number in sorted(counts.items()):
                self.stdout.write(f"  {label} {number} {name}")
