"""manage.py bench: time the pages and the CSV export on a big synthetic case.

Prints a table of medians (after a warm-up) and writes the same figures as JSON. Run it
once on SQLite and once with DATABASE_URL set for PostgreSQL; docs/performance.md says
how the published figures were made.
"""

import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.test import Client
from django.test.utils import override_settings
from django.urls import include, path, reverse

from loadtest.run import LoadTestError, free_port, stop_server, wait_until_healthy

from ... import exports, selectors, views
from ...db import QueryCounter
from ...keyset import Cursor
from ...models import Case, Claim, Event, Party

PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
# A cache of the bench's own, in the process: it empties it between runs, which must
# not touch a cache the site shares (REDIS_URL).
BENCH_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "casetracker-bench",
    }
}


def floor_view(request: HttpRequest) -> HttpResponse:
    """The framework floor: the site's base template, no query."""
    return render(request, "base.html", {})


# The big case's searches timed against its unfiltered timeline (Command.time_searches).
SEARCHES = {
    "common word": "?q=court",
    "rarer word": "?q=maipran",
    "phrase": '?q="board+minutes"',
}
# The search that finds few events in the small case and many in the big one, with a
# filter besides: timed in the process and over HTTP.
RARER_WORD_AND_KIND = SEARCHES["rarer word"] + "&kind=ruling"

# While benchmarking, the site's URLs plus the floor view.
urlpatterns = [path("bench-floor/", floor_view), path("", include("casetracker.urls"))]


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
            "--others",
            type=int,
            default=0,
            help="Cases of --small events besides those two, as a newsroom keeps"
            " (bench-other-1, ...), for the list of cases.",
        )
        parser.add_argument(
            "--runs", type=int, default=7, help="Timed runs per measurement."
        )
        parser.add_argument(
            "--json", type=Path, help="Write the figures to this JSON file."
        )
        parser.add_argument(
            "--skip-csv", action="store_true", help="Leave out the CSV export."
        )
        parser.add_argument(
            "--skip-pages",
            action="store_true",
            help="Time only the CSV export; with --json, replace only its figures.",
        )
        parser.add_argument(
            "--http-seconds",
            type=float,
            default=2.0,
            help="Seconds of wrk per URL and turn over HTTP (0 leaves HTTP out).",
        )
        parser.add_argument(
            "--import-export-rows",
            type=int,
            default=20_000,
            help="Events in the django-import-export sample (0 leaves it out).",
        )

    def handle(self, *args, **options) -> None:
        self.runs = options["runs"]
        self.import_export_rows = options["import_export_rows"]
        if options["skip_pages"]:
            self.csv_only(options)
            return
        big = self.ensure_case("bench-big", options["events"])
        small = self.ensure_case("bench-small", options["small"])
        for number in range(1, options["others"] + 1):
            self.ensure_case(
                f"bench-other-{number}", options["small"], seed=number + 1, quiet=True
            )
        if self.built and connection.vendor == "postgresql":
            # What autovacuum does in its own time: without the visibility map the
            # planner cannot read an index alone (a facet count 25 ms instead of 5).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        self.warm_database()
        results = {
            "machine": self.machine(),
            "database": connection.vendor,
            "events": {"big": options["events"], "small": options["small"]},
            "others": options["others"],
            "pages": [],
            "csv": [],
        }
        # As in production (DEBUG off), but with plain static storage: no collectstatic.
        plain = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}}
        with override_settings(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver"],
            STORAGES=plain,
            ROOT_URLCONF=__name__,
            CACHES=BENCH_CACHES,
        ):
            client = Client()
            client.get("/bench-floor/")  # warm-up
            floor = self.alternate(client, {"floor": ("/bench-floor/", {})})["floor"]
            results["floor_ms"] = round(statistics.median(floor) * 1000, 2)
            self.stdout.write(
                f"{'floor: base template, no query':<34} {results['floor_ms']:>8.1f} ms"
            )
            results["case_list"] = self.time_case_list(client)
            for name, url_of in self.page_cases():
                row = {
                    "page": name,
                    **self.time_pair(client, url_of(small), url_of(big)),
                }
                row["big_vs_floor"] = round(row["big"]["ms"] / results["floor_ms"], 1)
                row["big_cached_vs_floor"] = round(
                    row["big"]["cached_ms"] / results["floor_ms"], 1
                )
                results["pages"].append(row)
                self.stdout.write(
                    f"{name:<34} small {row['small']['ms']:>8.1f} ms {row['small']['queries']:>3} q"
                    f"   big {row['big']['ms']:>8.1f} ms {row['big']['queries']:>3} q"
                    f"   x{row['ratio']} (floor x{row['big_vs_floor']};"
                    f" cached {row['big']['cached_ms']:.1f} ms,"
                    f" floor x{row['big_cached_vs_floor']};"
                    f" first {row['small']['first_ms']:.1f} and"
                    f" {row['big']['first_ms']:.1f} ms, x{row['first_ratio']})"
                )
            results["searches"] = self.time_searches(client, big)
            results["admin"] = self.time_admin(client, small, big)
        if options["http_seconds"] > 0:
            results["http"] = self.time_over_http(small, big, options["http_seconds"])
        if not options["skip_csv"]:
            results["csv"] = self.csv_figures(big)
        if options["json"]:
            options["json"].write_text(
                json.dumps(results, indent=2) + "\n", encoding="utf-8"
            )
            self.stdout.write(f"Figures written to {options['json']}")

    # Data --------------------------------------------------------------------------------

    def warm_database(self) -> None:
        """Read the whole database once before timing anything.

        Building the other database's million events can push this one out of the
        operating system's file cache; then the first pages timed would pay for the
        disk (twice as slow, seen here) and the figures would depend on the order of
        the runs. Warm, they are those of a server that has been answering a while.
        """
        if connection.vendor == "sqlite":
            name = Path(connection.settings_dict["NAME"])
            for path in (name, name.with_name(name.name + "-wal")):
                if path.exists():
                    with path.open("rb") as file:
                        while file.read(1 << 24):
                            pass
            return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                cursor.execute(
                    "SELECT sum(pg_prewarm(c.oid, 'read')) FROM pg_class c"
                    " WHERE c.relnamespace = 'public'::regnamespace"
                    " AND c.relkind IN ('r', 'i', 'm')"
                )
        except DatabaseError as error:  # the extension is in PostgreSQL's contrib
            self.stderr.write(
                f"Not warmed, pg_prewarm failed ({error}): the first pages timed"
                " may read the disk."
            )

    built = False

    def ensure_case(
        self, slug: str, events: int, *, seed: int = 1, quiet: bool = False
    ) -> Case:
        """The case `slug` with `events` events, built unless the database has it."""
        case = Case.objects.filter(slug=slug).first()
        if case and case.events.count() == events:
            return case
        self.stdout.write(f"Building {slug} with {events} events...")
        call_command(
            "generate_synthetic_case",
            slug,
            events=events,
            replace=True,
            seed=seed,
            **({"stdout": io.StringIO()} if quiet else {}),
        )
        self.built = True
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
            # Where page 1,000 starts, reached by following "load more" (a cursor).
            position = min(999 * 25, case.events.count() - 25)
            event = Event.objects.filter(case=case).chronological()[position - 1]
            return f"?after={Cursor.of(event)}"

        def listed(name: str, deep: int = 0, *, by_number: bool = False):
            # The list's first page, or page `deep`, or its last where it has fewer
            # (the small case's): reached by its "Next" link, which names the row
            # before it (a seek from that row), or `by_number` alone (OFFSET over
            # the list's index).
            def url(case):
                path = reverse(name, kwargs={"case": case.slug})
                if not deep:
                    return path, {}
                rows = (
                    selectors.testimony_list(case=case)
                    if name == "case_testimony"
                    else selectors.coverage_list(case=case)
                )
                size = views.LIST_PAGE_SIZE
                number = min(deep, -(-rows.count() // size))
                if by_number or number < 2:
                    return f"{path}?page={number}", {}
                before = rows.values_list("pk", flat=True)[(number - 1) * size - 1]
                return f"{path}?page={number}&after={before}", {}

            return url

        def event_url(case):
            # One with testimony on both sides, so that both run the same prefetches.
            return (
                Event.objects.filter(case=case, testimony__isnull=False)
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
            *(
                (f"timeline, text, {name}", lambda c, query=query: timeline(c, query))
                for name, query in SEARCHES.items()
            ),
            # A common word fills a page in both cases; the rarer word shows a few
            # events of the small case and a page of the big one.
            (
                "timeline, common word and kind",
                lambda c: timeline(c, "?q=court&kind=ruling"),
            ),
            (
                "timeline, rarer word and kind",
                lambda c: timeline(c, RARER_WORD_AND_KIND),
            ),
            (
                "timeline, common word and dates",
                lambda c: timeline(c, "?q=court&from=2019&to=2020-06"),
            ),
            (
                "timeline, rarer word and dates",
                lambda c: timeline(c, "?q=maipran&from=2019&to=2020-06"),
            ),
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
            ("testimony list", listed("case_testimony")),
            ("testimony list, page 100", listed("case_testimony", 100)),
            (
                "testimony list, page 100 by number",
                listed("case_testimony", 100, by_number=True),
            ),
            ("coverage list", listed("case_coverage")),
            ("coverage list, page 500", listed("case_coverage", 500)),
            (
                "coverage list, page 500 by number",
                listed("case_coverage", 500, by_number=True),
            ),
        ]

    def time_pair(self, client: Client, small: tuple, big: tuple) -> dict:
        """The same page of the small and the big case, each run timing one then the
        other, rendered (the page cache off), then as a first request, then served
        from the page cache.

        Rendered runs follow a warm-up, so what the site keeps per revision of a case
        (month counts, filter choices, a search's count and ranking) is kept: they
        are the figures of a page asked for again, with other filters or another
        page, since its case last changed. A first request comes right after the
        cache is emptied: it is the first request of any page since its case changed,
        which finds nothing kept.

        Each side's figure is its median; the ratio is the median of the run-by-run
        ratios. These machines slow down in bursts of seconds: timing all of one side
        and then all of the other let a burst fall on one side only (ratios from 0.7
        to 1.8 for pages that do the same work), alternating puts both in it.
        """
        sides = {"small": small, "big": big}
        figures = {label: {} for label in sides}
        with override_settings(CASETRACKER_PAGE_CACHE_SECONDS=0):
            for label, (url, headers) in sides.items():
                response = client.get(url, headers=headers)  # warm-up
                with QueryCounter() as counter:
                    client.get(url, headers=headers)
                figures[label].update(
                    queries=counter.count, status=response.status_code
                )
            rendered = self.alternate(client, sides)
            first = self.alternate(client, sides, first=True)
        for url, headers in sides.values():
            client.get(url, headers=headers)  # fills the page cache
        cached = self.alternate(client, sides)
        for label in sides:
            figures[label]["ms"] = round(statistics.median(rendered[label]) * 1000, 1)
            figures[label]["first_ms"] = round(
                statistics.median(first[label]) * 1000, 1
            )
            figures[label]["cached_ms"] = round(
                statistics.median(cached[label]) * 1000, 2
            )

        return {
            **figures,
            "ratio": paired_ratio(rendered, "small", "big"),
            "first_ratio": paired_ratio(first, "small", "big"),
        }

    def time_searches(self, client: Client, case: Case) -> list[dict]:
        """Each text search of `case` against its unfiltered timeline, the two taking
        turns, rendered and as first requests: the search target is a ratio to that
        page, and timed pages apart a burst of the machine's slowness can fall on
        one of them only (the same searches measured 0.7 and 2.3 times the page)."""
        timeline = reverse("case_timeline", kwargs={"case": case.slug})
        rows = []
        with override_settings(CASETRACKER_PAGE_CACHE_SECONDS=0):
            for name, query in SEARCHES.items():
                sides = {"unfiltered": (timeline, {}), "search": (timeline + query, {})}
                for url, headers in sides.values():
                    client.get(url, headers=headers)  # warm-up
                rendered = self.alternate(client, sides)
                first = self.alternate(client, sides, first=True)
                row = {
                    "search": name,
                    "ms": round(statistics.median(rendered["search"]) * 1000, 1),
                    "unfiltered_ms": round(
                        statistics.median(rendered["unfiltered"]) * 1000, 1
                    ),
                    "ratio": paired_ratio(rendered, "unfiltered", "search"),
                    "first_ratio": paired_ratio(first, "unfiltered", "search"),
                }
                rows.append(row)
                self.stdout.write(
                    f"{'search to unfiltered, ' + name:<34} {row['ms']:>8.1f} ms"
                    f"   unfiltered {row['unfiltered_ms']:.1f} ms   x{row['ratio']}"
                    f" (first x{row['first_ratio']})"
                )
        return rows

    def time_case_list(self, client: Client) -> dict:
        """The list of cases (its first page), rendered and as a first request: it
        shows each case's event count and span, so it must not read the events."""
        url = reverse("case_list")
        with override_settings(CASETRACKER_PAGE_CACHE_SECONDS=0):
            client.get(url)  # warm-up
            with QueryCounter() as counter:
                client.get(url)
            sides = {"list": (url, {})}
            rendered = self.alternate(client, sides)["list"]
            first = self.alternate(client, sides, first=True)["list"]
        figures = {
            "cases": Case.objects.count(),
            "events": Event.objects.count(),
            "queries": counter.count,
            "ms": round(statistics.median(rendered) * 1000, 1),
            "first_ms": round(statistics.median(first) * 1000, 1),
        }
        self.stdout.write(
            f"{'list of cases':<34} {figures['ms']:>8.1f} ms {figures['queries']:>3} q"
            f"   ({figures['cases']} cases, {figures['events']:,} events;"
            f" first {figures['first_ms']:.1f} ms)"
        )
        return figures

    def time_over_http(self, small: Case, big: Case, seconds: float) -> dict | None:
        """The floor and a few pages of each case served by gunicorn (one sync
        worker, the bench's settings: DEBUG off, no page cache) and timed by wrk with
        one connection, every URL taking its turn, `runs` turns (at most 5) of
        `seconds` each. Through the test client a request skips the app server's own
        work: parsing HTTP, and until 30 November opening a SQLite connection (2 to
        5 ms, which the test client never closes). None, said, without wrk."""
        wrk = shutil.which("wrk")
        if wrk is None:
            self.stdout.write(
                "over HTTP: left out, wrk is not installed (make load-deps)"
            )
            return None

        def timeline(case: Case, query: str = "") -> str:
            return reverse("case_timeline", kwargs={"case": case.slug}) + query

        pages = {
            "timeline, unfiltered": "",
            "timeline, rarer word and kind": RARER_WORD_AND_KIND,
        }
        urls = {"floor": "/bench-floor/"}
        for name, query in pages.items():
            urls[f"{name}, small"] = timeline(small, query)
            urls[f"{name}, big"] = timeline(big, query)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "casetracker.settings.bench"}
        with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
                    *(
                        "--workers",
                        "1",
                        "--threads",
                        "1",
                        "--bind",
                        f"127.0.0.1:{port}",
                    ),
                    "casetracker.wsgi",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                try:
                    wait_until_healthy(base, server, log.name)
                except LoadTestError as error:
                    raise CommandError(f"The bench's server: {error}") from None
                timings: dict[str, list[float]] = {label: [] for label in urls}
                for url in urls.values():
                    self.wrk_median(wrk, base + url, 1)  # warm-up
                for _ in range(min(self.runs, 5)):
                    for label, url in urls.items():
                        timings[label].append(self.wrk_median(wrk, base + url, seconds))
            finally:
                stop_server(server)
        floor = statistics.median(timings["floor"])
        figures = {"floor_ms": round(floor, 2), "pages": []}
        self.stdout.write(
            f"over HTTP (gunicorn, 1 worker; wrk -c1)  floor {floor:.2f} ms"
        )
        for name in pages:
            sides = {"small": timings[f"{name}, small"], "big": timings[f"{name}, big"]}
            row = {
                "page": name,
                "small_ms": round(statistics.median(sides["small"]), 1),
                "big_ms": round(statistics.median(sides["big"]), 1),
                "ratio": paired_ratio(sides, "small", "big"),
            }
            row["big_vs_floor"] = round(row["big_ms"] / floor, 1)
            figures["pages"].append(row)
            self.stdout.write(
                f"  {name:<32} small {row['small_ms']:>8.1f} ms"
                f"   big {row['big_ms']:>8.1f} ms   x{row['ratio']}"
                f" (floor x{row['big_vs_floor']})"
            )
        return figures

    @staticmethod
    def wrk_median(wrk: str, url: str, seconds: float) -> float:
        """The median latency in ms of `seconds` of requests, one at a time."""
        result = subprocess.run(
            [wrk, "-t1", "-c1", f"-d{max(1, round(seconds))}s", "--latency", url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        non_2xx = "Non-2xx or 3xx responses" in result.stdout
        for line in result.stdout.splitlines():
            parts = line.split()
            if parts[:1] == ["50%"] and not non_2xx and result.returncode == 0:
                return wrk_ms(parts[1])
        raise CommandError(f"wrk failed on {url}:\n{result.stdout}{result.stderr}")

    def time_admin(self, client: Client, small: Case, big: Case) -> list[dict]:
        """The admin pages an editor of each case works in, signed in as staff, the
        small and the big case taking turns; then the lists and pickers over every
        case. The admin keeps nothing between requests: each is rendered in full."""
        editor, _ = get_user_model().objects.get_or_create(
            username="bench-editor", defaults={"is_staff": True, "is_superuser": True}
        )
        client.force_login(editor)
        events = reverse("admin:casetracker_event_changelist")
        picker = reverse("admin:autocomplete") + (
            "?app_label=casetracker&model_name=claimstatuschange&field_name=event"
        )

        def of_case(name: str) -> Callable[[Case], str]:
            listed = reverse(f"admin:casetracker_{name}_changelist")
            return lambda case: f"{listed}?case__id__exact={case.pk}"

        def event_change(case: Case) -> str:
            # Its inlines' pickers read a row each: the same shape on both sides.
            event = (
                Event.objects.filter(case=case, testimony__isnull=False)
                .annotate(n=Count("citations"))
                .filter(n=2)
                .order_by("id")
                .first()
            ) or Event.objects.filter(case=case).order_by("id").first()
            return reverse("admin:casetracker_event_change", args=(event.pk,))

        # Page 1,000 (Django's admin pages by OFFSET), or the last page of a smaller
        # database: the admin redirects a page past the end.
        per_page = admin.site.get_model_admin(Event).list_per_page
        deep = min(1000, -(-Event.objects.count() // per_page))
        per_case = [
            ("admin: events of the case", of_case("event")),
            (
                "admin: events, one year",
                lambda c: of_case("event")(c) + "&date__year=2020",
            ),
            ("admin: events, word search", lambda c: of_case("event")(c) + "&q=court"),
            ("admin: an event", event_change),
            (
                "admin: the case",
                lambda c: reverse("admin:casetracker_case_change", args=(c.pk,)),
            ),
            ("admin: testimony of the case", of_case("testimony")),
            ("admin: sources of the case", of_case("source")),
            (
                "admin: citations of the case",
                lambda c: (
                    reverse("admin:casetracker_citation_changelist")
                    + f"?source__case__id__exact={c.pk}"
                ),
            ),
        ]
        whole = [
            ("admin: every event", events),
            (f"admin: every event, page {deep:,}", f"{events}?p={deep}"),
            ("admin: event picker", f"{picker}&term="),
            ("admin: event picker, typed", f"{picker}&term=cour"),
        ]
        rows = []
        for name, url_of in per_case:
            sides = {"small": (url_of(small), {}), "big": (url_of(big), {})}
            rows.append({"page": name, **self.time_admin_sides(client, sides)})
        for name, url in whole:
            rows.append(
                {"page": name, **self.time_admin_sides(client, {"all": (url, {})})}
            )
        for row in rows:
            sides = "   ".join(
                f"{label} {row[label]['ms']:>8.1f} ms {row[label]['queries']:>3} q"
                for label in ("small", "big", "all")
                if label in row
            )
            ratio = f"   x{row['ratio']}" if "ratio" in row else ""
            self.stdout.write(f"{row['page']:<34} {sides}{ratio}")
        client.logout()
        return rows

    def time_admin_sides(self, client: Client, sides: dict) -> dict:
        figures = {}
        for label, (url, headers) in sides.items():
            response = client.get(url, headers=headers)  # warm-up
            with QueryCounter() as counter:
                client.get(url, headers=headers)
            figures[label] = {"queries": counter.count, "status": response.status_code}
        timings = self.alternate(client, sides)
        for label in sides:
            figures[label]["ms"] = round(statistics.median(timings[label]) * 1000, 1)
        if "big" in sides:
            figures["ratio"] = paired_ratio(timings, "small", "big")
        return figures

    def alternate(
        self, client: Client, sides: dict, first: bool = False
    ) -> dict[str, list[float]]:
        """Seconds per request, `runs` times each side, the sides taking turns.

        `first`: each request is timed right after the cache is emptied.
        """
        timings = {label: [] for label in sides}
        for _ in range(self.runs):
            for label, (url, headers) in sides.items():
                if first:
                    cache.clear()
                start = time.perf_counter()
                client.get(url, headers=headers)
                timings[label].append(time.perf_counter() - start)
        return timings

    # CSV ---------------------------------------------------------------------------------

    def csv_only(self, options) -> None:
        """--skip-pages: time only the CSV; with --json, replace just its figures."""
        big = self.ensure_case("bench-big", options["events"])
        figures = self.csv_figures(big)
        target = options["json"]
        if target:
            results = (
                json.loads(target.read_text(encoding="utf-8"))
                if target.exists()
                else {"machine": self.machine(), "database": connection.vendor}
            )
            results["csv"] = figures
            target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"CSV figures written to {target}")

    def csv_figures(self, case: Case) -> dict:
        """The site's CSV against the database's own CSV writer and django-import-export.

        The whole case is written `min(runs, 3)` times, each followed by the shell's two
        queries; each figure is the median, each ratio the median of the run-by-run
        ratios: these machines are noisy. On SQLite the CPU time of the processes timed
        (steadier when other work shares the machine) is reported too; on PostgreSQL the
        server does the querying in processes of its own, which that time leaves out.
        """
        runs = max(1, min(self.runs, 3))
        with_cpu = connection.vendor == "sqlite"
        rows = case.events.count()
        whole = selectors.timeline_event_list(case=case)
        shells = self.shell_commands(case)
        site = "site CSV, whole case"
        timings = {site: [], **{name: [] for name in shells}}
        peaks = []
        for _ in range(runs):
            wall, cpu, peak = self.time_site_csv(whole)
            timings[site].append((wall, cpu))
            peaks.append(peak)
            for name, command in shells.items():
                timings[name].append(self.time_command(command))

        def figure(name: str, count: int, wall: float, cpu: float, **extra) -> dict:
            result = {
                "export": name,
                "rows": count,
                "seconds": round(wall, 2),
                "rows_per_second": round(count / wall),
            }
            if with_cpu:
                result["cpu_rows_per_second"] = round(count / cpu)
            return {**result, **extra}

        def report(result: dict, note: str = "") -> None:
            cpu = result.get("cpu_rows_per_second")
            self.stdout.write(
                f"{result['export']:<48} {result['rows']:>9,} rows"
                f" {result['rows_per_second']:>9,} rows/s"
                + (f" (cpu {cpu:,})" if cpu else "")
                + note
            )

        def median_figure(name: str, **extra) -> dict:
            wall = statistics.median(w for w, _ in timings[name])
            cpu = statistics.median(c for _, c in timings[name])
            return figure(name, rows, wall, cpu, **extra)

        figures = {"runs": runs, "exports": [], "ratios": {}}
        whole_case = median_figure(site, peak_rss_growth_mb=max(peaks))
        figures["exports"].append(whole_case)
        report(whole_case, f"  peak RSS +{whole_case['peak_rss_growth_mb']} MiB")

        party = self.busiest_party(case)
        sliced = selectors.timeline_event_list(
            case=case, parties=[party], kinds=["ruling", "filing"]
        )
        wall, cpu, peak = self.time_site_csv(sliced)
        slice_figure = figure(
            "site CSV, filtered slice (one party, two kinds)",
            sliced.count(),
            wall,
            cpu,
            peak_rss_growth_mb=peak,
        )
        figures["exports"].append(slice_figure)
        report(slice_figure)

        for name in shells:
            shell = median_figure(name)
            figures["exports"].append(shell)
            # The site's rate over this one's, run by run: this one's time over the site's.
            pairs = list(zip(timings[site], timings[name], strict=True))
            ratio = {"wall": round(statistics.median(o[0] / s[0] for s, o in pairs), 2)}
            if with_cpu:
                ratio["cpu"] = round(
                    statistics.median(o[1] / s[1] for s, o in pairs), 2
                )
            figures["ratios"][f"site / {name}"] = ratio
            report(
                shell,
                f"  site/this x{ratio['wall']}"
                + (f" (cpu x{ratio['cpu']})" if with_cpu else ""),
            )

        sample = self.import_export_sample(case, self.import_export_rows)
        if sample:
            figures["exports"].append(sample)
            ratio = round(whole_case["rows_per_second"] / sample["rows_per_second"], 1)
            figures["ratios"]["site / django-import-export"] = {"wall": ratio}
            report(
                sample,
                f"  peak RSS +{sample['peak_rss_growth_mb']} MiB  site/this x{ratio}"
                f"  (a sample: the first {sample['rows']:,} events only)",
            )
        return figures

    @staticmethod
    def time_site_csv(events) -> tuple[float, float, float]:
        """Seconds (wall, CPU) to produce the response bytes, and the peak RSS growth.

        Resident memory is read after each block: one block is the unit of work.
        """
        response = exports.timeline_csv_response(events, filename="bench.csv")
        before = peak = resident_mb()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in response.streaming_content:
            peak = max(peak, resident_mb())
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall, cpu, round(peak - before, 1)

    @staticmethod
    def time_command(command: list[str]) -> tuple[float, float]:
        """Seconds (wall, CPU) a shell command takes to write its CSV to /dev/null."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        wall = time.perf_counter() - start
        if result.returncode:
            raise CommandError(f"{command[0]} failed: {result.stderr}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return wall, cpu

    def shell_commands(self, case: Case) -> dict[str, list[str]]:
        """The database's own CSV writer, the physical limit, with two queries.

        "same rows": the site's 23 columns with the same values (parties and claims in
        the same order, URLs once each, the formula guard), written by the shell.
        "parties only": 7 columns with party names, the query of the earlier bench.
        """
        prefix, middle, suffix = exports.permalink_parts("")
        if connection.vendor == "sqlite" and shutil.which("sqlite3"):
            database = str(settings.DATABASES["default"]["NAME"])
            return {
                "sqlite3 -csv, same rows": [
                    "sqlite3",
                    "-csv",
                    database,
                    sqlite_same_rows(case.pk, prefix, middle, suffix),
                ],
                "sqlite3 -csv, parties only (7 columns)": [
                    "sqlite3",
                    "-csv",
                    database,
                    PARTIES_ONLY.format(
                        names="group_concat(p.name, ' | ')", case=case.pk
                    ),
                ],
            }
        if connection.vendor == "postgresql" and shutil.which("psql"):
            url = os.environ["DATABASE_URL"]

            def copy(sql: str) -> list[str]:
                one_line = " ".join(sql.split())  # \copy takes a single line
                return [
                    "psql",
                    url,
                    "-q",
                    "-c",
                    f"\\copy ({one_line}) TO '/dev/null' CSV",
                ]

            return {
                "psql \\copy csv, same rows": copy(
                    postgresql_same_rows(case.pk, prefix, middle, suffix)
                ),
                "psql \\copy csv, parties only (7 columns)": copy(
                    PARTIES_ONLY.format(names="string_agg(p.name, ' | ')", case=case.pk)
                ),
            }
        return {}

    def import_export_sample(self, case: Case, rows: int) -> dict | None:
        """django-import-export's ModelResource export of the first `rows` events.

        It runs in bench/venv-iie, made here and kept in step with requirements.txt:
        the site does not depend on django-import-export. A sample, because that export
        is slow and holds every row in memory.
        """
        if rows <= 0:
            return None
        venv = settings.BASE_DIR / "bench" / "venv-iie"
        python = venv / "bin" / "python"
        requirements = settings.BASE_DIR / "requirements.txt"
        # Installed once, and again whenever requirements.txt changes.
        stamp, wanted = venv / ".installed", requirements.read_text() + IMPORT_EXPORT
        if not stamp.exists() or stamp.read_text() != wanted:
            self.stdout.write(f"Installing {IMPORT_EXPORT} in {venv}...")
            if not python.exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet"]
            pip += ["--disable-pip-version-check", "-r", str(requirements)]
            subprocess.run([*pip, IMPORT_EXPORT], check=True)
            stamp.write_text(wanted)
        result = subprocess.run(
            [
                str(python),
                "-m",
                "casetracker.management.commands._bench_import_export",
                case.slug,
                str(rows),
            ],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise CommandError(f"django-import-export sample failed: {result.stderr}")
        figure = json.loads(result.stdout.splitlines()[-1])
        return {
            "export": "django-import-export ModelResource (sample)",
            "rows": figure["rows"],
            "seconds": round(figure["seconds"], 2),
            "rows_per_second": round(figure["rows_per_second"]),
            "peak_rss_growth_mb": figure["peak_rss_growth_mb"],
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


# CSV comparisons ---------------------------------------------------------------------

IMPORT_EXPORT = "django-import-export==4.4.3"

PARTIES_ONLY = (
    "SELECT e.slug, e.date, e.date_precision, e.kind, e.title, e.summary, "
    "(SELECT {names} FROM casetracker_event_parties ep JOIN casetracker_party p "
    "ON p.id = ep.party_id WHERE ep.event_id = e.id) "
    "FROM casetracker_event e WHERE e.case_id = {case} "
    "ORDER BY e.date, e.date_rank, e.id"
)


def paired_ratio(timings: dict[str, list[float]], base: str, other: str) -> float:
    """The median of the run-by-run ratios of `other` to `base`."""
    pairs = zip(timings[base], timings[other], strict=True)
    return round(statistics.median(b / a for a, b in pairs), 2)


def wrk_ms(text: str) -> float:
    """wrk's latency ("812.00us", "3.21ms", "1.02s") in ms."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text.removesuffix(unit)) * factor
    raise ValueError(f"Not a wrk latency: {text!r}")


def resident_mb() -> float:
    """This process's resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def sqlite_same_rows(case: int, prefix: str, middle: str, suffix: str) -> str:
    """The site's CSV rows as one SQLite query (the same values; the shell's quoting)."""

    def guard(x: str) -> str:
        triggers = "('=', '+', '-', '@', char(9), char(13))"
        return (
            f"CASE WHEN substr({x}, 1, 1) IN {triggers} THEN '''' || {x} ELSE {x} END"
        )

    def joined(value: str, source: str, order: str) -> str:
        return (
            f"(SELECT {guard('v')} FROM (SELECT group_concat(x, ' | ') AS v FROM "
            f"(SELECT {value} AS x {source} ORDER BY {order})))"
        )

    parties = (
        "FROM casetracker_event_parties ep JOIN casetracker_party p "
        "ON p.id = ep.party_id WHERE ep.event_id = e.id"
    )
    claims = (
        "FROM casetracker_event_claims ec JOIN casetracker_claim c "
        "ON c.id = ec.claim_id WHERE ec.event_id = e.id"
    )
    cited = (
        "FROM casetracker_citation ci JOIN casetracker_source s "
        "ON s.id = ci.source_id WHERE ci.event_id = e.id"
    )
    # Each URL once, in citation order: json_group_array(DISTINCT) keeps first comers.
    urls = (
        f"(SELECT {guard('v')} FROM (SELECT group_concat(value, ' | ') AS v FROM "
        f"json_each((SELECT json_group_array(DISTINCT u) FROM (SELECT s.url AS u "
        f"{cited} AND s.url <> '' ORDER BY s.key, ci.id)))))"
    )
    return f"""
        SELECT {guard("e.slug")}, e.date, e.date_precision,
            CASE WHEN e.date_approximate THEN 1 ELSE 0 END, e.end_date,
            CASE WHEN e.end_date IS NULL THEN '' ELSE e.end_precision END,
            {guard("e.date_note")}, e.kind, {guard("e.title")}, {guard("e.summary")},
            {joined("p.name", parties, "p.name, p.id")},
            {joined("p.slug", parties, "p.name, p.id")},
            {joined("c.title", claims, "c.id")}, {joined("c.slug", claims, "c.id")},
            CASE WHEN e.is_key THEN 1 ELSE 0 END,
            CASE WHEN e.is_context THEN 1 ELSE 0 END,
            e.confidence, {guard("e.confidence_note")}, {urls},
            (SELECT count(*) FROM casetracker_citation ci WHERE ci.event_id = e.id),
            (SELECT count(*) FROM casetracker_testimony t WHERE t.event_id = e.id),
            (SELECT count(*) {cited} AND s.kind IN ('news', 'blog')),
            '{prefix}' || k.slug || '{middle}' || e.slug || '{suffix}'
        FROM casetracker_event e JOIN casetracker_case k ON k.id = e.case_id
        WHERE e.case_id = {case} ORDER BY e.date, e.date_rank, e.id
    """


def postgresql_same_rows(case: int, prefix: str, middle: str, suffix: str) -> str:
    """The site's CSV rows as one PostgreSQL query (the same values; psql's quoting)."""

    def guard(x: str) -> str:
        triggers = "('=', '+', '-', '@', chr(9), chr(13))"
        return f"CASE WHEN left({x}, 1) IN {triggers} THEN '''' || {x} ELSE {x} END"

    return f"""
        SELECT {guard("e.slug")}, to_char(e.date, 'YYYY-MM-DD'), e.date_precision,
            CASE WHEN e.date_approximate THEN 1 ELSE 0 END, e.end_date,
            CASE WHEN e.end_date IS NULL THEN '' ELSE e.end_precision END,
            {guard("e.date_note")}, e.kind, {guard("e.title")}, {guard("e.summary")},
            {guard("pa.names")}, {guard("pa.slugs")}, {guard("cl.titles")},
            {guard("cl.slugs")}, CASE WHEN e.is_key THEN 1 ELSE 0 END,
            CASE WHEN e.is_context THEN 1 ELSE 0 END, e.confidence,
            {guard("e.confidence_note")}, {guard("u.urls")}, n.cited,
            (SELECT count(*) FROM casetracker_testimony t WHERE t.event_id = e.id),
            n.coverage, '{prefix}' || k.slug || '{middle}' || e.slug || '{suffix}'
        FROM casetracker_event e JOIN casetracker_case k ON k.id = e.case_id
        LEFT JOIN LATERAL (
            SELECT string_agg(p.name, ' | ' ORDER BY p.name, p.id) AS names,
                string_agg(p.slug, ' | ' ORDER BY p.name, p.id) AS slugs
            FROM casetracker_event_parties ep JOIN casetracker_party p
                ON p.id = ep.party_id WHERE ep.event_id = e.id
        ) pa ON true
        LEFT JOIN LATERAL (
            SELECT string_agg(c.title, ' | ' ORDER BY c.id) AS titles,
                string_agg(c.slug, ' | ' ORDER BY c.id) AS slugs
            FROM casetracker_event_claims ec JOIN casetracker_claim c
                ON c.id = ec.claim_id WHERE ec.event_id = e.id
        ) cl ON true
        LEFT JOIN LATERAL (
            SELECT string_agg(d.url, ' | ' ORDER BY d.key, d.id) AS urls
            FROM (
                SELECT DISTINCT ON (s.url) s.url, s.key, ci.id
                FROM casetracker_citation ci JOIN casetracker_source s
                    ON s.id = ci.source_id
                WHERE ci.event_id = e.id AND s.url <> ''
                ORDER BY s.url, s.key, ci.id
            ) d
        ) u ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS cited,
                count(*) FILTER (WHERE s.kind IN ('news', 'blog')) AS coverage
            FROM casetracker_citation ci JOIN casetracker_source s
                ON s.id = ci.source_id WHERE ci.event_id = e.id
        ) n ON true
        WHERE e.case_id = {case} ORDER BY e.date, e.date_rank, e.id
    """
