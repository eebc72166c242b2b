"""manage.py restore_case FILE [--dry-run]: put a case back from a backup_case file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...backups import BackupError, case_restore


class Command(BaseCommand):
    help = (
        "Restore a case from a backup_case file into a database that does not hold it, "
        "with the same ids and timestamps, in one transaction. Refuses (writing "
        "nothing) if the case or any of its ids exist, or the file is not a backup it "
        "can read. Parties shared with a case already here are kept and linked to. "
        "The file is read into memory whole."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="A backup written by backup_case.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file against this database, write nothing.",
        )

    def handle(self, *args, file: Path, dry_run: bool, **options) -> None:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Could not read {file}: {error.strerror}.") from None
        try:
            report = case_restore(data=data, name=str(file), dry_run=dry_run)
        except BackupError as error:
            raise CommandError(
                f"{file} was not restored; nothing was written.\n"
                + "\n".join(error.problems)
            ) from None
        verb = "could be restored (dry run, nothing written)" if dry_run else "restored"
        rows = sum(report.counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"{report.case}: {verb} from {file}, {rows} rows")
        )
        for name, count in report.counts.items():
            self.stdout.write(f"  {count} {name}")
        if report.reused_parties:
            self.stdout.write(
                f"  {len(report.reused_parties)} parties were already here (shared with "
                "another case) and were kept as they are: "
                + ", ".join(report.reused_parties)
            )
