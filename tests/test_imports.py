"""Timeline CSV import: round trips with the export, TimelineJS sheets, bad files that
write nothing, the import_timeline command and the admin's import page."""

import csv
import datetime as dt
import html
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from casetracker import imports
from casetracker.choices import (
    Confidence,
    DatePrecision,
    EventKind,
    PartyKind,
    PartyRole,
    Side,
)
from casetracker.exports import csv_lines, timeline_rows
from casetracker.imports import TimelineImportError, timeline_import
from casetracker.models import Case, CaseParty, Claim, Event, Source
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    EventFactory,
    LinkedEventFactory,
    PartyFactory,
    SourceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def export_bytes(case: Case, *, bom: bool = False) -> bytes:
    events = Event.objects.for_case(case).chronological()
    return "".join(csv_lines(timeline_rows(events), bom=bom)).encode("utf-8")


def csv_bytes(header: list[str], *rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def event_values(case: Case) -> dict[str, tuple]:
    """What the CSV carries about each event of the case, by id."""
    events = Event.objects.filter(case=case).prefetch_related(
        "parties", "claims", "citations__source"
    )
    return {
        event.slug: (
            event.date,
            event.date_precision,
            event.date_approximate,
            event.end_date,
            event.end_precision if event.end_date else "",
            event.date_note,
            event.kind,
            event.title,
            event.summary,
            event.is_key,
            event.is_context,
            event.confidence,
            event.confidence_note,
            sorted((party.slug, party.name) for party in event.parties.all()),
            sorted((claim.slug, claim.title) for claim in event.claims.all()),
            sorted(citation.source.url for citation in event.citations.all()),
        )
        for event in events
    }


def snapshot(case: Case) -> dict[str, tuple]:
    """event_values plus each event's updated_at: equal only if nothing was saved."""
    stamps = dict(Event.objects.filter(case=case).values_list("slug", "updated_at"))
    return {
        slug: (*values, stamps[slug]) for slug, values in event_values(case).items()
    }


@pytest.fixture
def timeline_case() -> Case:
    """A case whose events use every column: spans, precisions, flags and links."""
    case = CaseFactory()
    musk = PartyFactory(name="Elon Musk", slug="elon-musk")
    openai = PartyFactory(name="OpenAI", slug="openai", kind=PartyKind.ORGANIZATION)
    CasePartyFactory(case=case, party=musk)
    CasePartyFactory(
        case=case, party=openai, role=PartyRole.DEFENDANT, side=Side.DEFENDANTS
    )
    claim = ClaimFactory(
        case=case, slug="charitable-trust", title="Breach of charitable trust"
    )
    complaint = LinkedEventFactory(
        case=case,
        slug="complaint-filed",
        title="Complaint filed",
        summary="Musk sues in state court.",
        date=dt.date(2024, 2, 29),
        kind=EventKind.FILING,
        is_key=True,
        confidence=Confidence.SINGLE_SOURCE,
        confidence_note="Only the docket so far.",
        parties=[musk, openai],
        claims=[claim],
    )
    CitationFactory(
        event=complaint,
        source=SourceFactory(case=case, url="https://court.example.org/complaint"),
    )
    CitationFactory(
        event=complaint,
        source=SourceFactory(case=case, url="https://news.example.org/filed"),
    )
    LinkedEventFactory(
        case=case,
        slug="settlement-talks",
        title="Settlement talks",
        summary="Talks, then none.",
        date=dt.date(2025, 3, 1),
        date_precision=DatePrecision.MONTH,
        date_approximate=True,
        end_date=dt.date(2025, 6, 1),
        end_precision=DatePrecision.MONTH,
        date_note="Months from a later filing.",
        kind=EventKind.SETTLEMENT,
        parties=[musk],
    )
    EventFactory(
        case=case,
        slug="founding",
        title="OpenAI founded",
        summary="A non-profit lab.",
        date=dt.date(2015, 1, 1),
        date_precision=DatePrecision.YEAR,
        kind=EventKind.BACKGROUND,
        is_context=True,
        confidence=Confidence.UNCERTAIN,
    )
    EventFactory(
        case=case,
        slug="year-only",
        title="A meeting",
        summary="",
        date=dt.date(2016, 1, 1),
        date_precision=DatePrecision.YEAR,
    )
    return case


# Our own CSV: export → import


def test_export_then_import_into_an_empty_case_reproduces_the_events(timeline_case):
    """Same ids, dates, precisions, texts, flags, parties, claims and cited URLs."""
    other = CaseFactory()

    report = timeline_import(
        case=other, file_bytes=export_bytes(timeline_case, bom=True), dry_run=False
    )

    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert report.problems == []
    assert event_values(other) == event_values(timeline_case)
    assert sorted(Claim.objects.filter(case=other).values_list("slug", "title")) == [
        ("charitable-trust", "Breach of charitable trust")
    ]
    roles = CaseParty.objects.filter(case=other).values_list(
        "party__slug", "role", "side"
    )
    assert sorted(roles) == [
        ("elon-musk", PartyRole.OTHER, Side.NEUTRAL),
        ("openai", PartyRole.OTHER, Side.NEUTRAL),
    ]
    new_source = Source.objects.get(case=other, url="https://news.example.org/filed")
    assert (new_source.kind, new_source.outlet) == ("other", "news.example.org")
    assert report.related_created == {"claims": 1, "party roles": 2, "sources": 2}


def test_a_dry_run_reports_the_same_and_writes_nothing(timeline_case):
    other = CaseFactory()

    report = timeline_import(
        case=other, file_bytes=export_bytes(timeline_case), dry_run=True
    )

    assert (report.created, report.dry_run) == (4, True)
    assert [row.action for row in report.rows] == ["create"] * 4
    assert not Event.objects.filter(case=other).exists()
    assert not Claim.objects.filter(case=other).exists()
    assert not Source.objects.filter(case=other).exists()


def test_editing_one_title_updates_exactly_that_event(timeline_case):
    before = snapshot(timeline_case)
    edited = export_bytes(timeline_case).replace(
        b",Complaint filed,", b",Complaint filed in state court,"
    )

    report = timeline_import(case=timeline_case, file_bytes=edited, dry_run=False)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    [update] = [row for row in report.rows if row.action == "update"]
    assert (update.id, update.note) == ("complaint-filed", "changed: title")
    after = snapshot(timeline_case)
    assert {slug for slug in before if before[slug] != after[slug]} == {
        "complaint-filed"
    }
    assert after["complaint-filed"][7] == "Complaint filed in state court"


def test_importing_the_same_file_twice_changes_nothing(timeline_case):
    data = export_bytes(timeline_case)
    before = snapshot(timeline_case)

    first = timeline_import(case=timeline_case, file_bytes=data, dry_run=False)
    second = timeline_import(case=timeline_case, file_bytes=data, dry_run=False)

    assert (first.updated, first.unchanged) == (0, 4)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 4)
    assert snapshot(timeline_case) == before


def test_links_are_set_to_exactly_what_the_file_says(timeline_case):
    """Parties, claims and URLs not in the file are unlinked; new ones are created."""
    data = csv_bytes(
        [
            "id",
            "date",
            "kind",
            "title",
            "parties",
            "party_ids",
            "claims",
            "source_urls",
        ],
        [
            "complaint-filed",
            "2024-02-29",
            "filing",
            "Complaint filed",
            "Elon Musk | Sam Altman",
            "elon-musk | sam-altman",
            "",
            "https://news.example.org/filed",
        ],
    )

    report = timeline_import(case=timeline_case, file_bytes=data, dry_run=False)

    assert report.rows[0].note == "changed: parties, claims, source_urls"
    values = event_values(timeline_case)["complaint-filed"]
    assert values[13:] == (
        [("elon-musk", "Elon Musk"), ("sam-altman", "Sam Altman")],
        [],
        ["https://news.example.org/filed"],
    )
    assert CaseParty.objects.filter(
        case=timeline_case, party__slug="sam-altman", role=PartyRole.OTHER
    ).exists()


def test_rows_without_an_id_create_events_with_a_date_and_title_slug():
    case = CaseFactory()
    EventFactory(case=case, slug="2024-05-01-hearing-held")
    data = csv_bytes(
        ["id", "date", "kind", "title", "parties"],
        ["", "2024-05-01", "hearing", "Hearing held", "Judge Yvonne Gonzalez Rogers"],
        ["", "2024-06-02", "news", "A report " + "x" * 100, ""],
    )

    report = timeline_import(case=case, file_bytes=data, dry_run=False)

    assert [row.id for row in report.rows] == [
        "2024-05-01-hearing-held-2",
        "2024-06-02-a-report-" + "x" * 60,
    ]
    event = Event.objects.get(case=case, slug="2024-05-01-hearing-held-2")
    assert [p.slug for p in event.parties.all()] == ["judge-yvonne-gonzalez-rogers"]


def test_formula_payloads_are_guarded_on_export_and_restored_on_import():
    case = CaseFactory()
    originals = {
        "evil": ('=HYPERLINK("http://evil")', "+1+1"),
        "sum": ("Sum", "@SUM(A1)"),
        "minus": ("Minus", "-2"),
        "tab": ("Tab", "\tindented"),
    }
    for slug, (title, summary) in originals.items():
        EventFactory(case=case, slug=slug, title=title, summary=summary)
    data = export_bytes(case)

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    cells = {row[0]: (row[8], row[9]) for row in rows[1:]}
    assert cells == {
        "evil": ('\'=HYPERLINK("http://evil")', "'+1+1"),
        "sum": ("Sum", "'@SUM(A1)"),
        "minus": ("Minus", "'-2"),
        "tab": ("Tab", "'\tindented"),
    }

    other = CaseFactory()
    report = timeline_import(case=other, file_bytes=data, dry_run=False)

    restored = Event.objects.filter(case=other).values_list("slug", "title", "summary")
    assert {slug: (title, summary) for slug, title, summary in restored} == originals
    assert "Row 2, column 'title': starts with '=': kept as plain text" in (
        report.warnings
    )
    assert "Row 4, column 'summary': starts with '-': kept as plain text" in (
        report.warnings
    )
    again = timeline_import(case=other, file_bytes=data, dry_run=False)
    assert "Row 5, column 'summary': starts with a tab: kept as plain text" in (
        report.warnings
    )
    assert (again.updated, again.unchanged) == (0, 4)


def test_a_party_name_that_differs_is_kept_and_warned_about(timeline_case):
    data = csv_bytes(
        ["id", "date", "kind", "title", "parties", "party_ids"],
        ["", "2024-06-01", "news", "Report", "Elon R. Musk", "elon-musk"],
    )

    report = timeline_import(case=timeline_case, file_bytes=data, dry_run=False)

    assert report.warnings == [
        "Row 2, column 'parties': the party 'elon-musk' is called 'Elon R. Musk' "
        "here; kept its name 'Elon Musk'"
    ]


# TimelineJS sheets


def timelinejs_bytes(rows: list[dict], *, alt_text: bool = True) -> bytes:
    columns = [
        name for name in imports.TIMELINEJS_COLUMNS if alt_text or name != "Alt Text"
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


TIMELINEJS_SHEET = [
    {"Headline": "Musk v. OpenAI", "Text": "<p>The story</p>", "Type": "title"},
    {
        "Year": "2015",
        "Headline": "OpenAI founded",
        "Text": "<p>A <b>non-profit</b> lab &amp; company.</p><p>Second.</p>",
        "Group": "Background",
    },
    {
        "Year": "2024",
        "Month": "2",
        "Day": "29",
        "Display Date": "29 Feb 2024",
        "Headline": "Complaint filed",
        "Media": "https://example.org/complaint.png",
        "Group": "filing",
    },
    {
        "Year": "2025",
        "Month": "3",
        "End Year": "2025",
        "End Month": "6",
        "Headline": "Settlement talks",
        "Group": "settlement talks",
    },
    {
        "Year": "2026",
        "Month": "4",
        "Day": "30",
        "End Year": "2026",
        "End Month": "5",
        "End Day": "18",
        "Headline": "Trial",
    },
]
TIMELINEJS_EVENTS = {
    "2015-01-01-openai-founded": (
        dt.date(2015, 1, 1),
        "year",
        None,
        "background",
        "A non-profit lab & company.\n\nSecond.",
        "",
    ),
    "2024-02-29-complaint-filed": (
        dt.date(2024, 2, 29),
        "day",
        None,
        "filing",
        "",
        "29 Feb 2024",
    ),
    "2025-03-01-settlement-talks": (
        dt.date(2025, 3, 1),
        "month",
        dt.date(2025, 6, 1),
        "settlement",
        "",
        "",
    ),
    "2026-04-30-trial": (
        dt.date(2026, 4, 30),
        "day",
        dt.date(2026, 5, 18),
        "news",
        "",
        "",
    ),
}


@pytest.mark.parametrize("alt_text", [True, False], ids=["alt-text", "older-sheet"])
def test_a_timelinejs_sheet_becomes_events_with_dates_and_precision(alt_text):
    case = CaseFactory()

    report = timeline_import(
        case=case,
        file_bytes=timelinejs_bytes(TIMELINEJS_SHEET, alt_text=alt_text),
        dry_run=False,
    )

    assert (report.layout, report.created, report.skipped) == ("timelinejs", 4, 1)
    assert (report.rows[0].row, report.rows[0].action, report.rows[0].note) == (
        2,
        "skip",
        "title slide",
    )
    events = Event.objects.filter(case=case)
    assert {
        e.slug: (e.date, e.date_precision, e.end_date, e.kind, e.summary, e.date_note)
        for e in events
    } == TIMELINEJS_EVENTS
    assert (
        Event.objects.get(case=case, slug="2025-03-01-settlement-talks").end_precision
        == "month"
    )


def test_a_timelinejs_import_exports_and_reimports_without_change():
    case = CaseFactory()
    sheet = timelinejs_bytes(TIMELINEJS_SHEET)
    timeline_import(case=case, file_bytes=sheet, dry_run=False)
    before = snapshot(case)

    exported = export_bytes(case)
    rows = {
        row["id"]: (
            row["date"],
            row["date_precision"],
            row["end_date"],
            row["end_precision"],
        )
        for row in csv.DictReader(io.StringIO(exported.decode("utf-8")))
    }
    again_sheet = timeline_import(case=case, file_bytes=sheet, dry_run=False)
    again_ours = timeline_import(case=case, file_bytes=exported, dry_run=False)

    assert rows == {
        "2015-01-01-openai-founded": ("2015-01-01", "year", "", ""),
        "2024-02-29-complaint-filed": ("2024-02-29", "day", "", ""),
        "2025-03-01-settlement-talks": ("2025-03-01", "month", "2025-06-01", "month"),
        "2026-04-30-trial": ("2026-04-30", "day", "2026-05-18", "day"),
    }
    assert (again_sheet.created, again_sheet.updated, again_sheet.unchanged) == (
        0,
        0,
        4,
    )
    assert (again_ours.created, again_ours.updated, again_ours.unchanged) == (0, 0, 4)
    assert snapshot(case) == before


def test_timelinejs_problems_name_row_and_column():
    case = CaseFactory()
    sheet = timelinejs_bytes(
        [
            {"Year": "2024", "Month": "2", "Day": "30", "Headline": "Leap"},
            {"Year": "2024", "Headline": "Deposed", "Group": "Deposition"},
            {"Year": "2024", "Month": "5", "End Year": "2023", "Headline": "Span"},
            {"Month": "5", "Headline": "No year"},
            {"Year": "2024", "Headline": "An era", "Type": "era"},
        ]
    )

    with pytest.raises(TimelineImportError) as caught:
        timeline_import(case=case, file_bytes=sheet, dry_run=False)

    assert caught.value.problems == [
        "Row 2, column 'Day': 2024-02-30 is not a valid date",
        "Row 3, column 'Group': 'Deposition' is not an event kind; use one of "
        + ", ".join(EventKind.values)
        + " (or its label), or leave it empty for news",
        "Row 4, column 'End Year': The end date cannot be before the date.",
        "Row 5, column 'Year': is empty; a value is required",
        "Row 5, column 'Month': a month needs a year",
    ]
    assert caught.value.report.warnings == [
        "Row 6, column 'Type': an era (a span shown behind the events) is not imported"
    ]
    assert not Event.objects.exists()


# Bad files write nothing and say where


OUR_HEADER = ["id", "date", "date_precision", "end_date", "kind", "title", "key"]


def import_problems(case: Case, data: bytes) -> list[str]:
    with pytest.raises(TimelineImportError) as caught:
        timeline_import(case=case, file_bytes=data, dry_run=False)
    return caught.value.problems


def test_every_row_problem_is_reported_and_nothing_is_written(timeline_case):
    count = Event.objects.count()
    data = csv_bytes(
        OUR_HEADER,
        [
            "",
            "2024-03-01",
            "day",
            "",
            "filing",
            "A good row that must not be saved",
            "",
        ],
        ["a", "2024-13-01", "day", "", "filing", "Bad date", ""],
        ["b", "2024-03-15", "month", "", "filing", "Off the 1st", ""],
        ["a", "2024-03-01", "day", "", "meeting", "Unknown kind", ""],
        ["c", "2024-03-01", "day", "2024-02-01", "filing", "Ends first", "maybe"],
        ["d", "2024-03-01", "weekly", "", "", "", ""],
        ["e", "2024-03-01", "day", "", "news", "x" * 256, ""],
        ["f", "", "year", "", "news", "When?", ""],
    )

    problems = import_problems(timeline_case, data)

    assert problems == [
        "Row 3, column 'date': '2024-13-01' is not a valid date; write it as YYYY-MM-DD",
        "Row 4, column 'date': A month-precision date is stored as the 1st of the "
        "month: use 2024-03-01 or set the precision to day.",
        "Row 5, column 'id': 'a' is used twice in the file (rows 3 and 5)",
        "Row 5, column 'kind': 'meeting' is not one of " + ", ".join(EventKind.values),
        "Row 6, column 'end_date': The end date cannot be before the date.",
        "Row 6, column 'key': 'maybe' is not a flag: use 1 or 0 (or true/false, "
        "yes/no, or leave it empty)",
        "Row 7, column 'date_precision': 'weekly' is not one of day, month, year",
        "Row 7, column 'kind': is empty; a value is required",
        "Row 7, column 'title': is empty; a value is required",
        "Row 8, column 'title': is 256 characters long; at most 255 fit",
        "Row 9, column 'date': is empty; every event needs a date (for a year only, "
        "write 2016-01-01 with date_precision year)",
    ]
    assert Event.objects.count() == count


def test_duplicate_ids_name_both_rows():
    case = CaseFactory()
    data = csv_bytes(
        OUR_HEADER,
        ["same", "2024-03-01", "day", "", "filing", "First", ""],
        ["other", "2024-03-02", "day", "", "filing", "Second", ""],
        ["same", "2024-03-03", "day", "", "filing", "Third", ""],
    )

    assert import_problems(case, data) == [
        "Row 4, column 'id': 'same' is used twice in the file (rows 2 and 4)"
    ]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"\xef\xbb\xbf\r\n", "The file is empty.", id="only-a-bom"),
        pytest.param(
            csv_bytes(["id", "date", "title"], ["", "2024-01-01", "Filed"]),
            "Missing required columns: 'kind'.",
            id="missing-column",
        ),
        pytest.param(
            csv_bytes(["Name", "When"], ["Filed", "2024"]),
            "The first row is neither this site's timeline CSV header",
            id="neither-layout",
        ),
        pytest.param(
            b",,,\r\n,2024-01-01,filing,Filed\r\n",
            "The first row must be the header row (the column names); it is empty.",
            id="no-header",
        ),
    ],
)
def test_whole_file_problems(data, problem):
    case = CaseFactory()

    problems = import_problems(case, data)

    assert len(problems) == 1
    assert problems[0].startswith(problem)
    assert not Event.objects.exists()


def test_an_unknown_column_is_named():
    data = csv_bytes(
        ["date", "kind", "title", "colour", "Notes"],
        ["2024-01-01", "news", "A", "", ""],
    )

    problems = import_problems(CaseFactory(), data)

    assert problems == [
        "Unknown columns: 'colour', 'Notes'. The columns of this layout are: "
        + ", ".join(imports.COLUMNS)
        + "."
    ]
    assert not Event.objects.exists()


def test_latin_1_bytes_are_refused_with_their_position():
    data = "date,kind,title\r\n2024-01-01,news,Café\r\n".encode("latin-1")

    problems = import_problems(CaseFactory(), data)

    assert problems == [
        "The file is not UTF-8 text: byte 0xe9 at byte position 36 (line 2) cannot be "
        'read. Save it from the spreadsheet as "CSV UTF-8" and import it again.'
    ]
    assert data[36] == 0xE9
    assert not Event.objects.exists()


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    data = csv_bytes(
        ["date", "kind", "title"],
        *(["2024-01-01", "news", f"Item {n}"] for n in range(3)),
    )

    assert import_problems(CaseFactory(), data) == [
        "The file has more than 2 rows: too large: split the file."
    ]
    assert not Event.objects.exists()


def test_too_many_bytes_are_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 10)

    problems = import_problems(CaseFactory(), b"date,kind,title\r\n")

    assert problems == [
        "The file is 17 bytes; at most 10 bytes can be imported at once: too large: "
        "split the file."
    ]


def test_model_validation_of_an_update_is_reported_and_rolls_everything_back():
    """full_clean() errors found while writing name the row and column too."""
    case = CaseFactory()
    EventFactory(
        case=case, slug="talks", date=dt.date(2025, 3, 1), date_precision="month"
    )
    data = csv_bytes(
        ["id", "date", "kind", "title"],
        ["", "2025-01-01", "news", "Created, then rolled back"],
        ["talks", "2025-03-15", "settlement", "Talks"],
    )

    problems = import_problems(case, data)

    assert problems == [
        "Row 3, column 'date': A month-precision date is stored as the 1st of the "
        "month: use 2025-03-01 or set the precision to day."
    ]
    assert list(Event.objects.values_list("slug", flat=True)) == ["talks"]


def test_an_unknown_party_id_without_a_name_is_a_problem():
    data = csv_bytes(
        ["date", "kind", "title", "party_ids", "source_urls"],
        ["2024-01-01", "news", "A", "nobody", "not a url"],
    )

    assert import_problems(CaseFactory(), data) == [
        "Row 2, column 'source_urls': 'not a url' is not a web address",
    ]
    data = csv_bytes(
        ["date", "kind", "title", "party_ids"], ["2024-01-01", "news", "A", "nobody"]
    )
    assert import_problems(CaseFactory(), data) == [
        "Row 2, column 'party_ids': no party has the id 'nobody'; give its name in "
        "'parties' to create it"
    ]


# The import_timeline command


@pytest.fixture
def export_file(timeline_case, tmp_path):
    path = tmp_path / "timeline.csv"
    path.write_bytes(export_bytes(timeline_case))
    return path


def test_command_dry_run_writes_nothing(export_file):
    case = CaseFactory()
    out = io.StringIO()

    call_command(
        "import_timeline", case.slug, str(export_file), "--dry-run", stdout=out
    )

    assert "would import 4 new, 0 updated, 0 unchanged, 0 skipped" in out.getvalue()
    assert "nothing was written" in out.getvalue()
    assert not Event.objects.filter(case=case).exists()


def test_command_imports(export_file):
    case = CaseFactory()
    out = io.StringIO()

    call_command("import_timeline", case.slug, str(export_file), stdout=out)

    assert f"{case.slug}: imported 4 new" in out.getvalue()
    assert "also created: 1 claim, 2 party roles, 2 sources" in out.getvalue()
    assert Event.objects.filter(case=case).count() == 4


def test_command_lists_problems_and_writes_nothing(tmp_path):
    case = CaseFactory()
    path = tmp_path / "bad.csv"
    path.write_bytes(
        csv_bytes(
            ["date", "kind", "title"], ["2024-02-30", "news", "A"], ["", "x", "B"]
        )
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_timeline", case.slug, str(path))

    message = str(caught.value)
    assert "nothing was written" in message
    assert "Row 2, column 'date': '2024-02-30' is not a valid date" in message
    assert "Row 3, column 'kind': 'x' is not one of" in message
    assert not Event.objects.exists()


def test_command_refuses_an_unknown_case(export_file):
    with pytest.raises(CommandError, match="No case with the slug 'nope'"):
        call_command("import_timeline", "nope", str(export_file))


# The admin's "Import timeline CSV" page


def import_url(case: Case) -> str:
    return reverse("admin:casetracker_case_import_timeline", args=[case.pk])


def upload(data: bytes, **fields) -> dict:
    return {"file": SimpleUploadedFile("timeline.csv", data, "text/csv"), **fields}


def test_import_page_opens_with_preview_ticked_and_is_linked_from_the_case(
    staff_client,
):
    case = CaseFactory()

    response = staff_client.get(import_url(case))
    change_page = staff_client.get(
        reverse("admin:casetracker_case_change", args=[case.pk])
    )

    assert response.status_code == 200
    assert "Preview only (write nothing)" in response.text
    assert 'id="id_preview_only" checked' in response.text
    assert "style=" not in response.text
    assert "<script>" not in response.text
    assert f'href="{import_url(case)}"' in change_page.text


def test_a_preview_lists_the_rows_and_writes_nothing(staff_client, timeline_case):
    case = CaseFactory()

    response = staff_client.post(
        import_url(case), upload(export_bytes(timeline_case), preview_only="on")
    )

    assert response.status_code == 200
    assert "Preview: nothing was written" in response.text
    assert "Events: 4 new, 0 updated, 0 unchanged, 0 skipped." in response.text
    assert "Also to be created: 1 claim, 2 party roles, 2 sources." in response.text
    for title in ("Complaint filed", "Settlement talks", "OpenAI founded"):
        assert f"<td>{title}</td>" in response.text
    assert not Event.objects.filter(case=case).exists()


def test_an_import_writes_and_says_so(staff_client, timeline_case):
    case = CaseFactory()

    response = staff_client.post(import_url(case), upload(export_bytes(timeline_case)))

    assert response.status_code == 200
    assert f"Timeline imported into {case}: 4 new" in response.text
    assert event_values(case) == event_values(timeline_case)


def test_a_bad_file_shows_rows_and_columns_and_writes_nothing(staff_client):
    case = CaseFactory()
    data = csv_bytes(["date", "kind", "title"], ["2024-13-01", "news", "A"])

    response = staff_client.post(import_url(case), upload(data))

    assert response.status_code == 200
    assert "Problems: nothing was written" in response.text
    assert (
        "<li>Row 2, column 'date': '2024-13-01' is not a valid date; write it as "
        "YYYY-MM-DD</li>"
    ) in html.unescape(response.text)
    assert not Event.objects.exists()


def test_an_oversized_upload_is_a_form_error(staff_client, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 10)

    response = staff_client.post(
        import_url(CaseFactory()), upload(b"date,kind,title\r\n")
    )

    assert response.status_code == 200
    assert "too large: split the file" in response.text
    assert 'id="id_file_error"' in response.text


def test_an_editor_may_import(client):
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)

    assert client.get(import_url(CaseFactory())).status_code == 200


def test_staff_without_the_event_add_permission_get_403(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="casetracker",
            codename__in=["view_case", "change_case", "change_event", "view_event"],
        )
    )
    client.force_login(user)
    case = CaseFactory()

    assert client.get(import_url(case)).status_code == 403
    response = client.post(
        import_url(case),
        upload(csv_bytes(["date", "kind", "title"], ["2024-01-01", "news", "A"])),
    )
    assert response.status_code == 403
    assert not Event.objects.exists()
    change_page = client.get(reverse("admin:casetracker_case_change", args=[case.pk]))
    assert import_url(case) not in change_page.text


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(import_url(CaseFactory()))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")
