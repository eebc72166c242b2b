"""manage.py delete_case <slug>: delete a case and every row of it, at any size.

The admin deletes a case with everything in it up to WHOLE_CASE_ADMIN_MAX events;
past that a request would outlast the app server's timeout, and this command does it.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from ... import selectors
from ...services import case_delete, deleted_text
from ..case_commands import backup_to, case_named


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
        case_obj = case_named(case)
        if interactive:
            contents = selectors.case_contents(case=case_obj)
            summary = ", ".join(f"{n:,} {name}" for n, name in contents)
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
            backup_to(case_obj, backup, failed="Nothing deleted.")
            self.stdout.write(f"Backed up to {backup}.")
        started = time.perf_counter()
        deleted = case_delete(case_obj)
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted case {case_obj.slug!r}: {deleted_text(deleted)}"
                f" ({time.perf_counter() - started:.1f} s)."
            )
        )
