"""What the commands that take a case by its slug share: finding it, and writing
its backup to a file, each failure a CommandError that says what went wrong."""

from pathlib import Path

from django.core.management.base import CommandError

from .. import selectors
from ..backups import BackupReport, case_backup_to_file
from ..models import Case


def case_named(slug: str) -> Case:
    """The case with this slug, or a CommandError naming it."""
    try:
        return selectors.case_get(slug=slug)
    except Case.DoesNotExist:
        raise CommandError(f"No case with slug {slug!r}.") from None


def backup_to(case: Case, output: str, *, failed: str = "") -> BackupReport:
    """Write the case's backup to the file `output` (see backups.case_backup_to_file);
    `failed`, a sentence, follows the error of a file that cannot be written."""
    path = Path(output)
    after = f" {failed}" if failed else ""
    if not path.parent.is_dir():
        raise CommandError(
            f"No directory {path.parent} to write {path.name} in.{after}"
        )
    try:
        return case_backup_to_file(case=case, path=path)
    except OSError as error:
        raise CommandError(f"Could not write {path}: {error}.{after}") from None
