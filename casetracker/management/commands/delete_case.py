"""manage.py delete_case <slug>: delete a case and every row of it, at any size.

The admin deletes a case with everything in it up to CASE_DELETE_ADMIN_MAX events;
past that a request would outlast the app server's timeout, and this command does it.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ... import selectors
from ...backups import case_backup_to_file
from ...models import Case
from ...services import case_delete, deleted_text


class Command(BaseCommand):
    help = (
        "Delete a case with its events, testimony, sources, claims, proceedings and "
        "party roles, and the parties no other case uses, in one transaction. Asks "
        "for the case's slug to be typed again unless --no-input is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("case", help="The case slug, e.g. musk-v-openai.")
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Delete without asking.",
        )
        parser.add_argument(
            "--backup",
            metavar="FILE",
            help="Write a backup of the case to FILE first (as backup_case does); "
            "nothing is deleted if it cannot be written.",
        )

    def handle(
        self, *args, case: str, interactive: bool, backup: str | None, **options
    ):
        try:
            case_obj = Case.objects.get(slug=case)
        except Case.DoesNotExist:
            raise CommandError(f"No case with slug {case!r}.") from None
        contents = selectors.case_contents(case=case_obj)
        summary = ", ".join(f"{n:,} {name}" for n, name in contents)
        if interactive:
            self.stdout.write(
                f"This deletes case {case_obj.slug!r} ({case_obj.title}) with {summary},"
                " and the parties no other case uses. It cannot be undone."
            )
            typed = input("Type the case's slug to delete it: ").strip()
            if typed != case_obj.slug:
                raise CommandError(
                    f"{typed!r} is not {case_obj.slug!r}: nothing deleted."
                )
        if backup:
            path = Path(backup)
            if not path.parent.is_dir():
                raise CommandError(
                    f"No directory {path.parent} to write {path.name} in: nothing deleted."
                )
            try:
                case_backup_to_file(case=case_obj, path=path)
            except OSError as error:
                raise CommandError(
                    f"Could not write {path}: {error}. Nothing deleted."
                ) from None
            self.stdout.write(f"Backed up to {path}.")
        started = time.perf_counter()
        deleted = case_delete(case_obj)
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted case {case_obj.slug!r}: {deleted_text(deleted)}"
                f" ({time.perf_counter() - started:.1f} s)."
            )
        )
