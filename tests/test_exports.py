"""Exports: the CSV (streamed, safe, equal to the page), TimelineJS JSON, Atom, iCalendar."""

import csv
import datetime as dt
import io
import json
import math
import re
import tracemalloc

import feedparser
import icalendar
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from casetracker import exports
from casetracker.db import QueryCounter
from casetracker.management.commands import bench
from casetracker.models import Case, Citation, Event, Party
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    EventFactory,
    PartyFactory,
    SourceFactory,
    TestimonyFactory,
)

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
]


def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def csv_url(case: Case) -> str:
    return reverse("case_timeline_csv", kwargs={"case": case.slug})


@pytest.fixture
def busy_case(db) -> Case:
    """A case of 60 events: three parties, two claims, mixed kinds and precision."""
    case = CaseFactory(slug="busy")
    parties = [CasePartyFactory(case=case).party for _ in range(3)]
    claims = [ClaimFactory(case=case) for _ in range(2)]
    for n in range(60):
        event = EventFactory(
            case=case,
            kind="ruling" if n % 3 == 0 else "filing",
            is_key=n % 5 == 0,
            date=dt.date(2024, 1, 1) + dt.timedelta(days=7 * n),
        )
        event.parties.add(parties[n % 3])
        if n % 2:
            event.claims.add(claims[n % 2])
        CitationFactory(event=event)
    return case


def page_ids(client, case: Case, params: dict) -> list[str]:
    """Event ids the timeline page shows for the filters, over all its pages."""
    ids, page = [], 1
    while True:
        html = client.get(
            reverse("case_timeline", kwargs={"case": case.slug}),
            {**params, "page": page},
        ).text
        ids += re.findall(r'<li class="event[^"]*" id="event-([^"]+)"', html)
        if 'id="load-more"' not in html:
            return ids
        page += 1


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "ruling"},
        {"key": "1"},
        {"from": "2024-03", "to": "2024-09"},
        {"q": "Event 1"},
    ],
    ids=["all", "kind", "key", "dates", "q"],
)
def test_csv_holds_exactly_the_events_the_page_shows(client, busy_case, params):
    rows = read_csv(client.get(csv_url(busy_case), params))

    assert [row["id"] for row in rows] == page_ids(client, busy_case, params)


def test_csv_for_party_and_claim_filters_matches_the_page(client, busy_case):
    party = Party.objects.filter(case_roles__case=busy_case).first()
    claim = busy_case.claims.filter(events__isnull=False).first()
    params = {"party": party.slug, "claim": claim.slug}

    rows = read_csv(client.get(csv_url(busy_case), params))

    assert rows
    assert [row["id"] for row in rows] == page_ids(client, busy_case, params)
    assert all(party.name in row["parties"] for row in rows)


@pytest.mark.django_db
def test_csv_columns_and_values(client):
    case = CaseFactory(slug="alpha")
    event = EventFactory(
        case=case,
        slug="the-hearing",
        date=dt.date(2025, 3, 1),
        date_precision="month",
        date_approximate=True,
        end_date=dt.date(2025, 4, 1),
        end_precision="month",
        title="The hearing",
        kind="hearing",
        is_key=True,
        confidence="single_source",
        confidence_note="one outlet",
    )
    first, second = (
        CasePartyFactory(case=case, party__name="Ann"),
        CasePartyFactory(case=case, party__name="Bob"),
    )
    event.parties.add(first.party, second.party)
    claim = ClaimFactory(case=case, title="Fraud", slug="fraud")
    event.claims.add(claim)
    news = SourceFactory(case=case, url="https://news.example.org/a", kind="news")
    filing = SourceFactory(
        case=case, url="https://court.example.org/1", kind="court_filing"
    )
    Citation.objects.create(event=event, source=news)
    Citation.objects.create(event=event, source=filing)
    TestimonyFactory(case=case, event=event)

    response = client.get(csv_url(case))
    rows = read_csv(response)

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert list(rows[0]) == list(exports.COLUMNS)
    row = rows[0]
    assert row["id"] == "the-hearing"
    assert (row["date"], row["date_precision"], row["date_approximate"]) == (
        "2025-03-01",
        "month",
        "1",
    )
    assert (row["end_date"], row["end_precision"]) == ("2025-04-01", "month")
    assert row["parties"] == "Ann | Bob"
    assert row["party_ids"] == f"{first.party.slug} | {second.party.slug}"
    assert (row["claims"], row["claim_ids"]) == ("Fraud", "fraud")
    assert (row["key"], row["confidence"], row["confidence_note"]) == (
        "1",
        "single_source",
        "one outlet",
    )
    assert set(row["source_urls"].split(" | ")) == {news.url, filing.url}
    assert (row["source_count"], row["testimony_count"], row["coverage_count"]) == (
        "2",
        "1",
        "1",
    )
    assert row["permalink"] == "http://testserver" + event.get_absolute_url()


@pytest.mark.django_db
def test_csv_is_rfc4180_with_crlf_and_optional_bom(client):
    case = CaseFactory()
    EventFactory(case=case, title='Quote "and", comma', summary="line one\nline two")

    plain = b"".join(client.get(csv_url(case)).streaming_content)
    excel = b"".join(client.get(csv_url(case), {"bom": "1"}).streaming_content)

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf")
    assert plain.split(b"\r\n")[0].startswith(b"id,date,")
    assert b'"Quote ""and"", comma"' in plain
    assert b'"line one\nline two"' in plain
    assert excel[3:] == plain


@pytest.mark.django_db
def test_csv_filename_names_the_case_and_the_day(client):
    case = CaseFactory(slug="musk-v-openai")
    with time_machine.travel(dt.datetime(2026, 5, 18, 12, tzinfo=dt.UTC), tick=False):
        response = client.get(csv_url(case))

    assert response["Content-Disposition"] == (
        'attachment; filename="musk-v-openai-timeline-2026-05-18.csv"'
    )


@pytest.mark.django_db
@pytest.mark.parametrize("payload", FORMULAS)
def test_formula_payloads_come_out_inert(client, payload):
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    case = CaseFactory()
    event = EventFactory(
        case=case, title=payload, summary=payload, confidence_note=payload
    )
    role = CasePartyFactory(case=case, party__name=payload)
    event.parties.add(role.party)

    row = read_csv(client.get(csv_url(case)))[0]

    for column in ("title", "summary", "confidence_note", "parties"):
        assert row[column] == "'" + payload
    assert not any(
        value.startswith(exports.FORMULA_TRIGGERS) for value in row.values() if value
    )


AWKWARD_TEXT = [
    "",
    "plain words",
    "a comma, inside",
    'a "quoted" word',
    '"a quote first',
    "line one\nline two",
    "carriage\rreturn",
    "windows\r\nline",
    "tab\tinside",
    "'an apostrophe first",
    " spaces around ",
    "ünïcödé — “curly” ‘quotes’ 漢字",
    "=1,2",
    '-"minus" and quote',
    *FORMULAS,
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_every_cell_is_what_csv_writer_writes(client, text):
    """The export writes its lines itself: csv.writer must write the very same bytes."""
    case = CaseFactory(slug="awkward")
    event = EventFactory(
        case=case,
        slug="-lead" if text.startswith("-") else "plain",
        title=text,
        summary=text,
        date_note=text,
        confidence_note=text,
    )
    event.parties.add(CasePartyFactory(case=case, party__name=text).party)
    event.claims.add(ClaimFactory(case=case, title=text))
    Citation.objects.create(event=event, source=SourceFactory(case=case, url=text))

    body = b"".join(client.get(csv_url(case)).streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(body, newline="")))

    assert body == "".join(exports.csv_lines(rows))
    row = dict(zip(rows[0], rows[1], strict=True))
    for column in (
        "title",
        "summary",
        "date_note",
        "confidence_note",
        "parties",
        "claims",
        "source_urls",
    ):
        assert row[column] == exports.neutralise(text)
    assert row["id"] == exports.neutralise(event.slug)
    assert row["permalink"] == "http://testserver" + event.get_absolute_url()


@pytest.mark.django_db
def test_source_urls_follow_the_source_keys_once_each(client):
    case = CaseFactory(slug="cited")
    event = EventFactory(case=case)
    second = SourceFactory(case=case, key="S2", url="https://b.example.org/")
    first = SourceFactory(
        case=case, key="S1", url="https://a.example.org/", kind="court_filing"
    )
    mirror = SourceFactory(case=case, key="S3", url="https://a.example.org/")
    blank = SourceFactory(case=case, key="S0", url="", kind="blog")
    for source in (second, first, mirror, blank, second):
        Citation.objects.create(event=event, source=source)

    row = read_csv(client.get(csv_url(case)))[0]

    assert row["source_urls"] == "https://a.example.org/ | https://b.example.org/"
    assert (row["source_count"], row["coverage_count"]) == ("5", "4")


@pytest.mark.django_db
def test_blocks_read_new_parties_and_keep_every_case_permalink(monkeypatch):
    """Parties first met in a later block still sort by name; several cases mix."""
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    first, second = CaseFactory(slug="first"), CaseFactory(slug="second")
    zed, amy = (
        PartyFactory(name="Zed", slug="zed"),
        PartyFactory(name="Amy", slug="amy"),
    )
    bob, bob_too = PartyFactory(name="Bob", slug="bob-2"), PartyFactory(name="Bob")
    late, early = ClaimFactory(case=first), ClaimFactory(case=first)
    events = [
        EventFactory(case=first, slug="a", date=dt.date(2020, 1, 1)),
        EventFactory(case=second, slug="b", date=dt.date(2020, 1, 2)),
        EventFactory(case=first, slug="c", date=dt.date(2020, 1, 3)),
        EventFactory(case=second, slug="d", date=dt.date(2020, 1, 4)),
        EventFactory(case=first, slug="e", date=dt.date(2020, 1, 5)),
    ]
    events[0].parties.add(zed)
    events[2].parties.add(amy, zed)
    events[4].parties.add(zed, bob_too, bob, amy)
    events[4].claims.add(early, late)

    text = "".join(
        exports.timeline_csv(
            Event.objects.filter(case__in=[first, second]).chronological(),
            base_url="https://cases.example.org",
        )
    )
    rows = list(csv.DictReader(io.StringIO(text, newline="")))

    assert [row["parties"] for row in rows] == [
        "Zed",
        "",
        "Amy | Zed",
        "",
        "Amy | Bob | Bob | Zed",
    ]
    assert rows[4]["party_ids"] == f"amy | bob-2 | {bob_too.slug} | zed"
    assert rows[4]["claim_ids"] == f"{late.slug} | {early.slug}"
    assert [row["permalink"] for row in rows] == [
        f"https://cases.example.org/cases/{event.case.slug}/events/{event.slug}/"
        for event in events
    ]


def test_the_bench_compares_the_site_with_the_same_rows(busy_case):
    """manage.py bench times the database writing "the same rows": check that they are."""
    event = EventFactory(case=busy_case, title="=1+1, said the clerk", date_note="c.")
    event.parties.add(CasePartyFactory(case=busy_case, party__name="@Co, Ltd").party)
    source = SourceFactory(case=busy_case, url="https://a.example.org/?q=1,2")
    for cited in (source, source, SourceFactory(case=busy_case, url="")):
        Citation.objects.create(event=event, source=cited)
    same_rows = (
        bench.sqlite_same_rows
        if connection.vendor == "sqlite"
        else bench.postgresql_same_rows
    )

    with connection.cursor() as cursor:
        cursor.execute(same_rows(busy_case.pk, *exports.permalink_parts("")))
        database = [["" if v is None else str(v) for v in row] for row in cursor]
    site = list(exports.timeline_rows(Event.objects.filter(case=busy_case)))

    assert database == site[1:]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2024-13"}, "from: There is no month 13"),
        ({"party": "nobody"}, "party: Unknown party: nobody"),
        ({"kind": "x"}, "kind: Unknown kind of event: x"),
        ({"from": "2025", "to": "2024"}, "is before"),
    ],
)
@pytest.mark.django_db
def test_invalid_filters_get_a_400_with_a_plain_message(client, params, message):
    case = CaseFactory()
    EventFactory(case=case)
    for name in (
        "case_timeline_csv",
        "case_timeline_json",
        "case_timeline_ics",
        "case_feed",
    ):
        response = client.get(reverse(name, kwargs={"case": case.slug}), params)
        assert response.status_code == 400
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert "nothing was exported" in response.text
        assert message in response.text


@pytest.mark.django_db
def test_unknown_case_is_a_404_for_every_format(client):
    for name in (
        "case_timeline_csv",
        "case_timeline_json",
        "case_timeline_ics",
        "case_feed",
    ):
        assert client.get(reverse(name, kwargs={"case": "nope"})).status_code == 404


@pytest.mark.django_db
def test_timeline_page_links_the_downloads_with_its_filters(client):
    case = CaseFactory(slug="c")
    response = client.get(
        reverse("case_timeline", kwargs={"case": "c"}), {"kind": "ruling", "page": "1"}
    )

    assert 'href="/cases/c/timeline.csv?kind=ruling"' in response.text
    assert 'href="/cases/c/timeline.csv?kind=ruling&amp;bom=1"' in response.text
    assert 'href="/cases/c/timeline.json?kind=ruling"' in response.text
    assert 'rel="alternate" type="application/atom+xml"' in response.text
    assert case.slug in response.text


def test_export_command_writes_the_same_rows_as_the_view(client, busy_case, tmp_path):
    target = tmp_path / "out.csv"

    call_command(
        "export_timeline",
        busy_case.slug,
        "--kind",
        "ruling",
        "--base-url",
        "http://testserver",
        "-o",
        str(target),
    )

    from_view = read_csv(client.get(csv_url(busy_case), {"kind": "ruling"}))
    with open(target, encoding="utf-8", newline="") as handle:
        from_command = list(csv.DictReader(handle))
    assert from_command == from_view
    assert len(from_command) == 20


def test_export_command_refuses_bad_filters_and_unknown_cases(busy_case, tmp_path):
    with pytest.raises(CommandError, match="There is no month 13"):
        call_command(
            "export_timeline",
            busy_case.slug,
            "--from",
            "2024-13",
            "-o",
            str(tmp_path / "x"),
        )
    with pytest.raises(CommandError, match="No case"):
        call_command("export_timeline", "nope")
    assert not (tmp_path / "x").exists()


@pytest.mark.django_db
def test_large_export_streams_in_flat_memory_with_bounded_queries():
    """200,000 events: memory after the first tenth hardly grows, queries grow by chunk."""
    total = 200_000
    case = CaseFactory(slug="large")
    party = CasePartyFactory(case=case).party
    start = dt.date(2000, 1, 1)
    Event.objects.bulk_create(
        (
            Event(
                case=case,
                slug=f"event-{n}",
                title=f"Event number {n}",
                summary="A summary long enough to weigh something in memory. " * 3,
                kind="filing",
                date=start + dt.timedelta(days=n % 9000),
            )
            for n in range(total)
        ),
        batch_size=5000,
    )
    links = Event.parties.through
    event_ids = Event.objects.filter(case=case).values_list("pk", flat=True)
    links.objects.bulk_create(
        (
            links(event_id=pk, party_id=party.pk)
            for pk in event_ids.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )

    # The header, then one string per block of rows (no summary holds a line break).
    blocks = exports.timeline_csv(Event.objects.filter(case=case).order_by("id"))
    count, early_peak = 0, None
    with QueryCounter() as counter:
        # Most rows untraced (tracing slows Python down), then the last fifth traced:
        # anything kept per row would show as growth between the two readings.
        for block in blocks:
            count += block.count("\r\n")
            if count >= total * 4 // 5:
                break
        tracemalloc.start()
        try:
            for block in blocks:
                count += block.count("\r\n")
                if early_peak is None and count >= total * 4 // 5 + total // 20:
                    early_peak = tracemalloc.get_traced_memory()[1]
            final_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert count == total + 1  # with the header
    chunks = math.ceil(total / exports.CHUNK_SIZE)
    # The rows, one citation query per block, parties and claims when first seen.
    assert counter.count <= 1 + chunks + 2
    print(
        f"\nexport of {total} rows: traced peak {early_peak / 2**20:.1f} MiB 10,000 rows "
        f"into the traced part, {final_peak / 2**20:.1f} MiB at the end; {counter.count} queries"
    )
    assert final_peak < early_peak * 1.25 + 2**20


@pytest.mark.django_db
def test_timelinejs_json_uses_only_timelinejs_fields_and_honours_precision(client):
    case = CaseFactory(slug="tjs", title="A <b>case</b>")
    EventFactory(
        case=case,
        slug="day",
        date=dt.date(2024, 2, 29),
        kind="filing",
        title="<script>x</script>",
    )
    EventFactory(
        case=case,
        slug="month",
        date=dt.date(2025, 3, 1),
        date_precision="month",
        date_approximate=True,
    )
    EventFactory(
        case=case,
        slug="year",
        date=dt.date(2016, 1, 1),
        date_precision="year",
        end_date=dt.date(2018, 1, 1),
        end_precision="year",
    )

    data = json.loads(
        client.get(reverse("case_timeline_json", kwargs={"case": "tjs"})).text
    )

    slide_fields = {
        "start_date",
        "end_date",
        "text",
        "media",
        "group",
        "display_date",
        "background",
        "autolink",
        "unique_id",
    }
    date_fields = {
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "millisecond",
        "display_date",
    }
    assert set(data) <= {"title", "events", "eras", "scale"}
    assert data["title"]["text"]["headline"] == "A &lt;b&gt;case&lt;/b&gt;"
    slides = {slide["unique_id"]: slide for slide in data["events"]}
    assert set(slides) == {"day", "month", "year"}
    for slide in slides.values():
        assert set(slide) <= slide_fields
        assert set(slide["start_date"]) <= date_fields
        assert isinstance(slide["start_date"]["year"], int)
    assert slides["day"]["start_date"] == {
        "year": 2024,
        "month": 2,
        "day": 29,
        "display_date": "29 February 2024",
    }
    assert slides["month"]["start_date"] == {
        "year": 2025,
        "month": 3,
        "display_date": "c. March 2025",
    }
    assert slides["year"]["start_date"]["display_date"] == "2016"
    assert "month" not in slides["year"]["start_date"]
    assert slides["year"]["end_date"] == {"year": 2018}
    assert slides["day"]["text"]["headline"] == "&lt;script&gt;x&lt;/script&gt;"
    assert slides["day"]["group"] == "Filing"


@pytest.mark.django_db
def test_atom_feed_parses_and_lists_events_newest_first(client):
    case = CaseFactory(slug="feedy", title="Feed case")
    EventFactory(case=case, title="Older", date=dt.date(2024, 1, 2))
    EventFactory(
        case=case, title="Newer", date=dt.date(2025, 1, 2), summary="Tom & <Jerry>"
    )

    response = client.get(reverse("case_feed", kwargs={"case": "feedy"}))
    feed = feedparser.parse(response.content)

    assert response["Content-Type"].startswith("application/atom+xml")
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Feed case: timeline"
    assert [entry.title for entry in feed.entries] == [
        "2 January 2025: Newer",
        "2 January 2024: Older",
    ]
    assert feed.entries[0].link.endswith(
        "/cases/feedy/events/" + Event.objects.get(title="Newer").slug + "/"
    )
    assert "Tom &amp; &lt;Jerry&gt;" in feed.entries[0].summary


@pytest.mark.django_db
def test_ics_parses_and_holds_only_exactly_dated_events(client):
    case = CaseFactory(slug="cal", title="Cal; case, with \\ specials")
    EventFactory(
        case=case,
        slug="exact",
        title="Hearing; day one, Oakland",
        date=dt.date(2025, 2, 4),
    )
    EventFactory(
        case=case, slug="span", date=dt.date(2026, 4, 27), end_date=dt.date(2026, 5, 14)
    )
    EventFactory(
        case=case, slug="month", date=dt.date(2025, 3, 1), date_precision="month"
    )
    EventFactory(
        case=case, slug="approx", date=dt.date(2025, 3, 4), date_approximate=True
    )
    long_title = "Ünïcödé " * 30
    EventFactory(case=case, slug="long", title=long_title, date=dt.date(2025, 6, 1))

    response = client.get(
        reverse("case_timeline_ics", kwargs={"case": "cal"}), {"q": ""}
    )
    body = b"".join(response.streaming_content)
    calendar = icalendar.Calendar.from_ical(body)

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {"exact", "span", "long"}
    assert str(events["exact"]["SUMMARY"]) == "Hearing; day one, Oakland"
    assert events["exact"].decoded("DTSTART") == dt.date(2025, 2, 4)
    assert events["exact"].decoded("DTEND") == dt.date(2025, 2, 5)
    assert events["span"].decoded("DTEND") == dt.date(2026, 5, 15)
    assert str(events["long"]["SUMMARY"]) == long_title
    assert b"X-WR-CALNAME:Cal\\; case\\, with \\\\ specials" in body
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
