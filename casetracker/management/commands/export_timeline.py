"""manage.py export_timeline <case> [filters] [-o FILE]: the timeline CSV, as the site gives it."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from ... import exports, selectors
from ...forms import TimelineFilterForm
from ..case_commands import case_named


class Command(BaseCommand):
    help = (
        "Write a case's timeline as CSV (see docs/csv.md), with the timeline page's "
        "filters. Repeat --party, --claim, --kind and --confidence for several values."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("case", help="The case slug, e.g. musk-v-openai.")
        parser.add_argument(
            "-o", "--output", help="File to write (default: standard output)."
        )
        parser.add_argument("--q", default="", help="Text search.")
        parser.add_argument("--party", action="append", default=[], help="Party slug.")
        parser.add_argument("--claim", action="append", default=[], help="Claim slug.")
        parser.add_argument(
            "--kind", action="append", default=[], help="Kind of event."
        )
        parser.add_argument(
            "--confidence", action="append", default=[], help="Confidence label."
        )
        parser.add_argument(
            "--from", dest="date_from", default="", help="YYYY, YYYY-MM or YYYY-MM-DD."
        )
        parser.add_argument(
            "--to", dest="date_to", default="", help="YYYY, YYYY-MM or YYYY-MM-DD."
        )
        parser.add_argument("--key", action="store_true", help="Key events only.")
        parser.add_argument(
            "--bom",
            action="store_true",
            help="Start with a UTF-8 byte-order mark (Excel).",
        )
        parser.add_argument(
            "--base-url",
            default=getattr(settings, "SITE_URL", ""),
            help="Prefix for the permalink column, e.g. https://cases.example.org.",
        )

    def handle(self, *args, **options) -> None:
        case = case_named(options["case"])
        params = QueryDict(mutable=True)
        for name in ("party", "claim", "kind", "confidence"):
            params.setlist(name, options[name])
        params["q"] = options["q"]
        params["from"], params["to"] = options["date_from"], options["date_to"]
        if options["key"]:
            params["key"] = "1"
        form = TimelineFilterForm(params, case=case)
        if not form.is_valid():
            problems = [
                f"--{name}: {m}" for name, ms in form.errors.items() for m in ms
            ]
            raise CommandError(
                "Invalid filters; nothing was exported.\n" + "\n".join(problems)
            )
        events = selectors.timeline_event_list(case=case, **form.filters)
        text = exports.timeline_csv(
            events, base_url=options["base_url"].rstrip("/"), bom=options["bom"]
        )
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                handle.writelines(text)
        else:
            sys.stdout.writelines(text)
