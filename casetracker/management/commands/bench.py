"""manage.py bench: time the pages and the CSV export on a big synthetic case.

Prints a table of medians (after a warm-up) and writes the same figures as JSON. Run it
once on SQLite and once with DATABASE_URL set for PostgreSQL; docs/performance.md says
how the published figures were made.
"""

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from ... import exports, selectors
from ...db import QueryCounter
from ...models import Case, Claim, Event, Party

PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"


class Command(BaseCommand):
    help = "Benchmark pages and CSV export on a big and a small synthetic case."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--events", type=int, default=1_000_000, help="Events in the big case."
        )
        parser.add_argument(
            "--small", type=int, default=1_000, help="Events in the small case."
        )
        parser.add_argument(
            "--runs", type=int, default=5, help="Timed runs per measurement."
        )
        parser.add_argument(
            "--json", type=Path, help="Write the figures to this JSON file."
        )
        parser.add_argument(
            "--skip-csv", action="store_true", help="Leave out the CSV export."
        )

    def handle(self, *args, **options) -> None:
        self.runs = options["runs"]
        big = self.ensure_case("bench-big", options["events"])
        small = self.ensure_case("bench-small", options["small"])
        results = {
            "machine": self.machine(),
            "database": connection.vendor,
            "events": {"big": options["events"], "small": options["small"]},
            "pages": [],
            "csv": [],
        }
        # As in production (DEBUG off), but with plain static storage: no collectstatic.
        plain = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}}
        with override_settings(
            DEBUG=False, ALLOWED_HOSTS=["testserver"], STORAGES=plain
        ):
            client = Client()
            for name, url_of in self.page_cases():
                row = {"page": name}
                for label, case in (("small", small), ("big", big)):
                    url, headers = url_of(case)
                    seconds, queries, status = self.time_request(client, url, headers)
                    row[label] = {
                        "ms": round(seconds * 1000, 1),
                        "queries": queries,
                        "status": status,
                    }
                row["ratio"] = round(
                    row["big"]["ms"] / max(row["small"]["ms"], 0.01), 2
                )
                results["pages"].append(row)
                self.stdout.write(
                    f"{name:<34} small {row['small']['ms']:>8.1f} ms {row['small']['queries']:>3} q"
                    f"   big {row['big']['ms']:>8.1f} ms {row['big']['queries']:>3} q"
                    f"   x{row['ratio']}"
                )
        if not options["skip_csv"]:
            results["csv"] = self.csv_figures(big)
        if options["json"]:
            options["json"].write_text(
                json.dumps(results, indent=2) + "\n", encoding="utf-8"
            )
            self.stdout.write(f"Figures written to {options['json']}")

    # Data --------------------------------------------------------------------------------

    def ensure_case(self, slug: str, events: int) -> Case:
        case = Case.objects.filter(slug=slug).first()
        if case and case.events.count() == events:
            return case
        self.stdout.write(f"Building {slug} with {events} events...")
        call_command(
            "generate_synthetic_case", slug, events=events, replace=True, seed=1
        )
        return Case.objects.get(slug=slug)

    # Pages -------------------------------------------------------------------------------

    @staticmethod
    def busiest_party(case: Case) -> Party:
        return (
            Party.objects.filter(events__case=case)
            .annotate(n=Count("events"))
            .order_by("-n")
            .first()
        )

    def page_cases(self):
        def timeline(case, query="", headers=None):
            return reverse(
                "case_timeline", kwargs={"case": case.slug}
            ) + query, headers or {}

        def party(case):
            return f"?party={self.busiest_party(case).slug}"

        def claim(case):
            return f"?claim={Claim.objects.filter(case=case, events__isnull=False).first().slug}"

        def deep(case):
            pages = max(1, case.events.count() // 25)
            return f"?page={min(1000, pages)}"

        def event_url(case):
            return (
                Event.objects.filter(case=case)
                .order_by("id")
                .first()
                .get_absolute_url(),
                {},
            )

        return [
            ("timeline, unfiltered", lambda c: timeline(c)),
            ("timeline, by party", lambda c: timeline(c, party(c))),
            ("timeline, by claim", lambda c: timeline(c, claim(c))),
            ("timeline, by kind", lambda c: timeline(c, "?kind=ruling")),
            ("timeline, by date range", lambda c: timeline(c, "?from=2019&to=2020-06")),
            ("timeline, by text", lambda c: timeline(c, "?q=ruling")),
            (
                "timeline, all filters",
                lambda c: timeline(
                    c,
                    party(c)
                    + "&kind=ruling&kind=filing&from=2016&to=2024&q=court&confidence=confirmed",
                ),
            ),
            ("timeline, deep page (1,000)", lambda c: timeline(c, deep(c))),
            (
                "timeline, htmx fragment",
                lambda c: timeline(c, "?kind=filing", {"HX-Request": "true"}),
            ),
            ("timeline, full page same filter", lambda c: timeline(c, "?kind=filing")),
            ("timeline, lanes", lambda c: timeline(c, "?layout=lanes")),
            ("event page", event_url),
            (
                "party page",
                lambda c: (
                    reverse(
                        "party_detail",
                        kwargs={"case": c.slug, "party": self.busiest_party(c).slug},
                    ),
                    {},
                ),
            ),
            (
                "claim page",
                lambda c: (Claim.objects.filter(case=c).first().get_absolute_url(), {}),
            ),
            ("case overview", lambda c: (c.get_absolute_url(), {})),
        ]

    def time_request(
        self, client: Client, url: str, headers: dict
    ) -> tuple[float, int, int]:
        response = client.get(url, headers=headers)  # warm-up
        with QueryCounter() as counter:
            client.get(url, headers=headers)
        timings = []
        for _ in range(self.runs):
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            timings.append(time.perf_counter() - start)
        return statistics.median(timings), counter.count, response.status_code

    # CSV ---------------------------------------------------------------------------------

    def csv_figures(self, case: Case) -> list[dict]:
        figures = []
        whole = selectors.timeline_event_list(case=case)
        party = self.busiest_party(case)
        sliced = selectors.timeline_event_list(
            case=case, parties=[party], kinds=["ruling", "filing"]
        )
        for name, events in (
            ("CSV, whole case", whole),
            ("CSV, filtered slice", sliced),
        ):
            rows, seconds, peak_mb = self.time_csv(events)
            figures.append(
                {
                    "export": name,
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "rows_per_second": round(rows / seconds),
                    "peak_rss_growth_mb": peak_mb,
                }
            )
            self.stdout.write(
                f"{name:<34} {rows:>9} rows {rows / seconds:>10,.0f} rows/s  peak +{peak_mb} MiB"
            )
        shell = self.shell_export(case)
        if shell:
            figures.append(shell)
            ratio = figures[0]["rows_per_second"] / shell["rows_per_second"]
            self.stdout.write(
                f"{shell['export']:<34} {shell['rows']:>9} rows {shell['rows_per_second']:>10,.0f} rows/s"
                f"  (the site reaches {ratio:.0%} of it)"
            )
        return figures

    @staticmethod
    def time_csv(events) -> tuple[int, float, float]:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        rows = sum(1 for _ in exports.csv_lines(exports.timeline_rows(events))) - 1
        seconds = time.perf_counter() - start
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        return rows, seconds, round(growth / 1024, 1)

    def shell_export(self, case: Case) -> dict | None:
        """The same rows written by the database's own CSV writer: the physical limit."""
        sql = (
            "SELECT e.slug, e.date, e.date_precision, e.kind, e.title, e.summary, "
            "(SELECT {agg} FROM casetracker_event_parties ep JOIN casetracker_party p "
            "ON p.id = ep.party_id WHERE ep.event_id = e.id) "
            f"FROM casetracker_event e WHERE e.case_id = {case.pk} ORDER BY e.date, e.id"
        )
        if connection.vendor == "sqlite" and shutil.which("sqlite3"):
            command = [
                "sqlite3",
                "-csv",
                str(settings.DATABASES["default"]["NAME"]),
                sql.format(agg="group_concat(p.name, ' | ')"),
            ]
            name = "sqlite3 -csv (same rows)"
        elif connection.vendor == "postgresql" and shutil.which("psql"):
            url = os.environ["DATABASE_URL"]
            copy = sql.format(agg="string_agg(p.name, ' | ')")
            command = ["psql", url, "-q", "-c", f"\\copy ({copy}) TO '/dev/null' CSV"]
            name = "psql \\copy (same rows)"
        else:
            return None
        start = time.perf_counter()
        result = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        seconds = time.perf_counter() - start
        if result.returncode:
            raise CommandError(f"{command[0]} failed: {result.stderr}")
        rows = case.events.count()
        return {
            "export": name,
            "rows": rows,
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
        }

    @staticmethod
    def machine() -> dict:
        return {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gb": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
        }
