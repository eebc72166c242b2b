"""manage.py bench, end to end on tiny cases: every page answers and the figures land
in the JSON. (Equal query counts for small and big cases are tested page by page in
test_views.py, on data of the same shape; cases this small have pages with no rows.)"""

import io
import json
import shutil

import pytest
from django.core.cache import cache
from django.core.management import call_command

from casetracker.management.commands import bench
from tests.servers import clean_env, manage, require

# Outside a transaction, as the command runs: on PostgreSQL it vacuums what it built.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bench_times_every_page_and_writes_its_figures(tmp_path):
    """It also times first requests by emptying a cache of its own, never the site's
    (which may be a Redis other processes share)."""
    target = tmp_path / "figures.json"
    cache.set("kept-by-the-site", "yes")

    call_command(
        "bench",
        events=120,
        small=40,
        others=2,
        runs=1,
        skip_csv=True,
        http_seconds=0,
        json=target,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    figures = json.loads(target.read_text(encoding="utf-8"))
    pages = {row["page"]: row for row in figures["pages"]}
    assert figures["events"] == {"big": 120, "small": 40}
    assert {"timeline, all filters", "case overview", "event page"} <= set(pages)
    deep = {"testimony list, page 100", "coverage list, page 500"}
    assert deep | {f"{name} by number" for name in deep} <= set(pages)
    for name, row in pages.items():
        assert row["small"]["status"] == row["big"]["status"] == 200, name
        assert row["small"]["queries"] > 0 and row["big"]["queries"] > 0, name
        assert row["big"]["ms"] > 0 and row["big"]["cached_ms"] > 0, name
        assert row["small"]["first_ms"] > 0 and row["big"]["first_ms"] > 0, name
        assert row["first_ratio"] > 0, name
    assert figures["case_list"]["cases"] == 4  # the two, and two others
    assert figures["case_list"]["events"] == 120 + 3 * 40
    assert figures["case_list"]["queries"] > 0 and figures["case_list"]["ms"] > 0
    assert [row["search"] for row in figures["searches"]] == [
        "common word",
        "rarer word",
        "phrase",
    ]
    assert all(
        row["ratio"] > 0 and row["first_ratio"] > 0 for row in figures["searches"]
    )
    admin = {row["page"]: row for row in figures["admin"]}
    assert {"admin: events of the case", "admin: event picker, typed"} <= set(admin)
    for name, row in admin.items():
        sides = [row[label] for label in ("small", "big", "all") if label in row]
        assert sides and all(side["status"] == 200 for side in sides), name
        assert all(side["queries"] > 0 and side["ms"] > 0 for side in sides), name
    assert admin["admin: events of the case"]["ratio"] > 0
    assert cache.get("kept-by-the-site") == "yes"


@pytest.mark.load
def test_the_bench_times_the_floor_and_pages_over_http(tmp_path):
    """Served by a real gunicorn on a database file of its own and timed by wrk: the
    figures the test client cannot give (it parses no HTTP and keeps connections)."""
    require(shutil.which("wrk") is not None, "wrk (make load-deps)")
    target = tmp_path / "figures.json"
    env = clean_env(SQLITE_PATH=str(tmp_path / "bench.sqlite3"))
    manage("migrate", "-v0", env=env)
    printed = manage(
        *("bench", "--events", "120", "--small", "40", "--runs", "1", "--skip-csv"),
        *("--http-seconds", "1", "--json", str(target)),
        env=env,
        timeout=600,
    )

    http = json.loads(target.read_text(encoding="utf-8"))["http"]
    assert http["floor_ms"] > 0
    assert [row["page"] for row in http["pages"]] == [
        "timeline, unfiltered",
        "timeline, rarer word and kind",
    ]
    for row in http["pages"]:
        assert row["small_ms"] > 0 and row["big_ms"] > 0 and row["ratio"] > 0
        assert row["big_vs_floor"] > 0
    assert "over HTTP (gunicorn" in printed


@pytest.mark.parametrize(
    ("text", "ms"), [("812.00us", 0.812), ("3.21ms", 3.21), ("1.02s", 1020.0)]
)
def test_wrk_latencies_are_read_in_ms(text, ms):
    assert bench.wrk_ms(text) == pytest.approx(ms)
    with pytest.raises(ValueError, match="wrk latency"):
        bench.wrk_ms("3.21 ms?")
