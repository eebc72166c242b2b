"""The timeline's read side: filtering, ordering, row annotations, month counts and
a query budget that does not grow with the case."""

import datetime as dt

import pytest

from casetracker.choices import (
    Confidence,
    DatePrecision,
    EventKind,
    SourceKind,
)
from casetracker.forms import parse_partial_date
from casetracker.selectors import (
    case_month_counts,
    claim_events,
    claim_get,
    key_events,
    party_events,
    timeline_event_list,
    timeline_rows,
    timeline_tally,
)
from tests.factories import (
    CaseFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    LinkedEventFactory,
    PartyFactory,
    SourceFactory,
    TestimonyFactory,
)
from tests.rendering import render_row


@pytest.fixture
def case(db):
    return CaseFactory()


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def titles(events) -> list[str]:
    return [event.title for event in events]


# One filter at a time


def test_no_filter_lists_every_event_of_the_case(case):
    """Without filters, all of the case's events, whatever their precision."""
    EventFactory(case=case, title="Day", date=d("2025-01-02"))
    EventFactory(
        case=case, title="Year", date=d("2025-01-01"), date_precision=DatePrecision.YEAR
    )
    EventFactory(title="Elsewhere", date=d("2025-01-01"))

    assert titles(timeline_event_list(case=case)) == ["Year", "Day"]


def test_parties_filter_keeps_events_of_any_given_party(case):
    """Several parties are alternatives: an event of any of them is kept."""
    alice, bob, carol = PartyFactory.create_batch(3)
    LinkedEventFactory(case=case, title="Alice", parties=[alice])
    LinkedEventFactory(case=case, title="Bob", parties=[bob])
    LinkedEventFactory(case=case, title="Carol", parties=[carol])
    EventFactory(case=case, title="Nobody")

    assert titles(timeline_event_list(case=case, parties=[alice, bob])) == [
        "Alice",
        "Bob",
    ]
    assert titles(timeline_event_list(case=case, parties=[carol])) == ["Carol"]


def test_claims_filter_keeps_events_bearing_on_any_given_claim(case):
    """Several claims are alternatives, like parties."""
    fraud, contract, other = ClaimFactory.create_batch(3, case=case)
    LinkedEventFactory(case=case, title="Fraud", claims=[fraud])
    LinkedEventFactory(case=case, title="Contract", claims=[contract])
    LinkedEventFactory(case=case, title="Other", claims=[other])
    EventFactory(case=case, title="None")

    assert titles(timeline_event_list(case=case, claims=[fraud, contract])) == [
        "Fraud",
        "Contract",
    ]


@pytest.mark.parametrize(
    ("field", "values", "argument", "wanted"),
    [
        (
            "kind",
            [EventKind.FILING, EventKind.RULING, EventKind.NEWS],
            {"kinds": [EventKind.FILING, EventKind.NEWS]},
            [EventKind.FILING, EventKind.NEWS],
        ),
        (
            "kind",
            [EventKind.FILING, EventKind.RULING],
            {"kinds": [EventKind.RULING]},
            [EventKind.RULING],
        ),
        (
            "confidence",
            [Confidence.CONFIRMED, Confidence.SINGLE_SOURCE, Confidence.UNCERTAIN],
            {"confidences": [Confidence.SINGLE_SOURCE, Confidence.UNCERTAIN]},
            [Confidence.SINGLE_SOURCE, Confidence.UNCERTAIN],
        ),
        ("is_key", [True, False], {"key_only": True}, [True]),
        ("is_key", [True, False], {"key_only": False}, [True, False]),
    ],
)
def test_field_filters_keep_matching_values(case, field, values, argument, wanted):
    """kinds, confidences and key_only keep the events whose field matches."""
    for value in values:
        EventFactory(case=case, **{field: value})

    events = timeline_event_list(case=case, **argument)

    assert [getattr(event, field) for event in events] == wanted


@pytest.mark.parametrize(
    ("bounds", "wanted"),
    [
        ({"date_from": d("2025-03-01")}, ["1 Mar", "31 Mar", "1 Apr"]),
        ({"date_to": d("2025-03-31")}, ["28 Feb", "1 Mar", "31 Mar"]),
        (
            {"date_from": d("2025-03-01"), "date_to": d("2025-03-31")},
            ["1 Mar", "31 Mar"],
        ),
        ({"date_from": d("2025-03-31"), "date_to": d("2025-03-31")}, ["31 Mar"]),
    ],
)
def test_date_bounds_are_inclusive(case, bounds, wanted):
    """date_from and date_to include their own day."""
    for title, date in [
        ("28 Feb", "2025-02-28"),
        ("1 Mar", "2025-03-01"),
        ("31 Mar", "2025-03-31"),
        ("1 Apr", "2025-04-01"),
    ]:
        EventFactory(case=case, title=title, date=d(date))

    assert titles(timeline_event_list(case=case, **bounds)) == wanted


@pytest.mark.parametrize(
    ("typed", "date", "precision"),
    [
        ("2025-03", "2025-03-01", DatePrecision.MONTH),
        ("2025", "2025-01-01", DatePrecision.YEAR),
        ("2025-03-01", "2025-03-01", DatePrecision.MONTH),
    ],
)
def test_coarse_event_is_inside_a_range_of_its_own_period(case, typed, date, precision):
    """A month- or year-precision event (stored on the 1st) is found by from/to
    naming its period, as the form turns them into first and last days."""
    EventFactory(case=case, title="Coarse", date=d(date), date_precision=precision)
    bound = parse_partial_date(typed)

    events = timeline_event_list(case=case, date_from=bound.first, date_to=bound.last)

    assert titles(events) == ["Coarse"]


# Search


@pytest.fixture
def searchable(case):
    """One event per place a search can match, and one that matches nowhere."""
    EventFactory(case=case, title="Distillation admitted", summary="")
    EventFactory(case=case, title="Summary", summary="He spoke of distillation.")
    by_testimony = EventFactory(case=case, title="Testimony", summary="")
    TestimonyFactory(case=case, event=by_testimony, text="We used DISTILLATION, yes.")
    by_headline = EventFactory(case=case, title="Headline", summary="")
    CitationFactory(
        event=by_headline, source__headline="The distillation question, explained"
    )
    unrelated = EventFactory(case=case, title="Unrelated", summary="Nothing here.")
    TestimonyFactory(case=case, event=unrelated, text="Nothing either.")
    CitationFactory(event=unrelated, source__headline="Something else")
    return case


@pytest.mark.parametrize(
    "q", ["distillation", "DISTILLATION", "Distil", "  distilled  "]
)
def test_q_matches_title_summary_testimony_and_cited_headline(searchable, q):
    """A word is found in the title, the summary, a testimony excerpt's text or a
    cited source's headline, whatever its case or ending (full-text stemming)."""
    events = timeline_event_list(case=searchable, q=q)

    assert titles(events) == [
        "Distillation admitted",
        "Summary",
        "Testimony",
        "Headline",
    ]


@pytest.mark.parametrize(
    ("stored", "q"), [("Émile Zoë", "émile"), ("émile zoë", "ZOË")]
)
def test_q_ignores_case_beyond_ascii(case, stored, q):
    """Accented capitals match their small letters, as ASCII ones do."""
    EventFactory(case=case, title=stored)

    assert titles(timeline_event_list(case=case, q=q)) == [stored]


def test_q_of_blanks_is_no_filter(searchable):
    """A search of only spaces filters nothing."""
    assert len(timeline_event_list(case=searchable, q="   ")) == 5


def test_q_ignores_testimony_and_sources_of_other_events(case):
    """An excerpt or a cited headline matches only the event it belongs to."""
    EventFactory(case=case, title="Plain")
    other = EventFactory(case=case, title="Other")
    TestimonyFactory(case=case, event=other, text="zebra")
    TestimonyFactory(case=case, event=None, text="zebra on its own")
    SourceFactory(case=case, headline="zebra uncited")

    assert titles(timeline_event_list(case=case, q="zebra")) == ["Other"]


@pytest.mark.parametrize(
    ("q", "wanted"),
    [
        ("board charity", ["Board vote"]),
        ("charity board", ["Board vote"]),
        ("board", ["Board vote", "Board minutes"]),
        ("charity", ["Board vote", "Charity gala"]),
        ("board charity unicorn", []),
        ("ruling witness", ["Across fields"]),
        ("witness headline", ["Across fields"]),
        ("across headline ruling witness", ["Across fields"]),
    ],
)
def test_every_word_of_q_must_match_somewhere(case, q, wanted):
    """Several words narrow: each must appear, but each may appear anywhere."""
    EventFactory(case=case, title="Board vote", summary="For the charity.")
    EventFactory(case=case, title="Board minutes", summary="Nothing more.")
    EventFactory(case=case, title="Charity gala", summary="")
    across = EventFactory(case=case, title="Across fields", summary="A ruling.")
    TestimonyFactory(case=case, event=across, text="The witness said little.")
    CitationFactory(event=across, source__headline="Headline news")

    assert titles(timeline_event_list(case=case, q=q)) == wanted


# Combinations, scope, order, duplicates


def test_filters_combine_and_across_or_within(case):
    """Different filters narrow each other; values within one are alternatives."""
    alice, bob = PartyFactory.create_batch(2)
    # Explicit dates: the factory's date sequence runs on across the whole session.
    LinkedEventFactory(
        case=case,
        title="Match A",
        parties=[alice],
        kind=EventKind.FILING,
        date=d("2024-03-01"),
    )
    LinkedEventFactory(
        case=case,
        title="Match B",
        parties=[bob],
        kind=EventKind.RULING,
        date=d("2024-04-01"),
    )
    LinkedEventFactory(
        case=case, title="Wrong kind", parties=[alice], kind=EventKind.NEWS
    )
    LinkedEventFactory(
        case=case,
        title="Too late",
        parties=[bob],
        kind=EventKind.FILING,
        date=d("2026-01-01"),
    )
    EventFactory(case=case, title="No party", kind=EventKind.FILING)

    events = timeline_event_list(
        case=case,
        parties=[alice, bob],
        kinds=[EventKind.FILING, EventKind.RULING],
        date_to=d("2025-12-31"),
    )

    assert titles(events) == ["Match A", "Match B"]

    assert titles(
        timeline_event_list(case=case, parties=[alice, bob], kinds=[EventKind.NEWS])
    ) == ["Wrong kind"]


def test_events_of_another_case_never_appear(case):
    """However it is filtered, the list holds only the given case's events."""
    shared_party = PartyFactory()
    other_case = CaseFactory()
    LinkedEventFactory(
        case=case, title="Ours: bribe", parties=[shared_party], is_key=True
    )
    theirs = LinkedEventFactory(
        case=other_case, title="Theirs: bribe", parties=[shared_party], is_key=True
    )
    TestimonyFactory(case=other_case, event=theirs, text="bribe")

    for filters in [
        {},
        {"parties": [shared_party]},
        {"q": "bribe"},
        {"key_only": True},
        {"kinds": [theirs.kind]},
    ]:
        assert titles(timeline_event_list(case=case, **filters)) == ["Ours: bribe"]


def test_order_is_by_date_then_precision_then_entry(case):
    """Chronological; on a shared first day year, then month, then day precision;
    same-day events in the order they were entered."""
    late = EventFactory(case=case, date=d("2025-06-01"))
    same_day_1 = EventFactory(case=case, date=d("2025-01-15"))
    early = EventFactory(case=case, date=d("2024-12-31"))
    same_day_2 = EventFactory(case=case, date=d("2025-01-15"))
    january = EventFactory(
        case=case, date=d("2025-01-01"), date_precision=DatePrecision.MONTH
    )
    year = EventFactory(
        case=case, date=d("2025-01-01"), date_precision=DatePrecision.YEAR
    )

    events = list(timeline_event_list(case=case))

    assert events == [early, year, january, same_day_1, same_day_2, late]
    assert list(timeline_event_list(case=case, q="event")) == events


def test_no_duplicates_when_an_event_matches_several_ways(case):
    """Several matching parties, claims, excerpts or sources still give one row."""
    alice, bob = PartyFactory.create_batch(2)
    fraud, contract = ClaimFactory.create_batch(2, case=case)
    event = LinkedEventFactory(
        case=case,
        title="Merger talks",
        summary="merger",
        parties=[alice, bob],
        claims=[fraud, contract],
    )
    TestimonyFactory.create_batch(3, case=case, event=event, text="The merger.")
    CitationFactory.create_batch(3, event=event, source__headline="Merger news")

    events = list(
        timeline_rows(
            timeline_event_list(
                case=case,
                parties=[alice, bob],
                claims=[fraud, contract],
                q="merger talks",
            )
        )
    )

    assert events == [event]
    assert (events[0].testimony_count, len(events[0].row_citations)) == (3, 3)


# Row annotations


def test_timeline_rows_counts_sources_testimony_and_coverage(case):
    """A row counts every source its event cites, the news and blogs among them, and
    the event's testimony excerpts; an event with none has zeros."""
    cited = EventFactory(case=case, title="Cited")
    for kind in [
        SourceKind.NEWS,
        SourceKind.BLOG,
        SourceKind.COURT_ORDER,
        SourceKind.TRANSCRIPT,
    ]:
        CitationFactory(event=cited, source__kind=kind)
    TestimonyFactory.create_batch(2, case=case, event=cited)
    # A source cited by the event's testimony is not cited by the event itself.
    excerpt = TestimonyFactory(case=case, event=cited)
    CitationFactory(event=None, testimony=excerpt, source__case=case)
    EventFactory(case=case, title="Bare")

    shown = {
        row.title: render_row(row)
        for row in timeline_rows(timeline_event_list(case=case))
    }

    assert "<span>4 sources</span>" in shown["Cited"]
    assert "<span>3 testimony excerpts</span>" in shown["Cited"]
    assert "<span>2 news items</span>" in shown["Cited"]
    assert "<span>0 sources</span>" in shown["Bare"]
    assert "testimony excerpt" not in shown["Bare"]
    assert "news item" not in shown["Bare"]


def test_timeline_rows_read_what_a_row_shows(case, django_assert_num_queries):
    """Parties, claims and cited sources come with the rows, in one go, as values:
    only the columns a row shows (a source's text can be a whole article, an event's
    note a page)."""
    alice = PartyFactory(name="Alice")
    claim = ClaimFactory(case=case, title="Fraud")
    event = LinkedEventFactory(case=case, parties=[alice], claims=[claim])
    citation = CitationFactory(
        event=event,
        pin_cite="p. 4",
        source__outlet="Reuters",
        source__url="https://example.org/a",
        source__kind=SourceKind.NEWS,
    )

    (row,) = timeline_rows(timeline_event_list(case=case), claims=True)

    with django_assert_num_queries(0):
        assert [(p.slug, p.name) for p in row.row_parties] == [(alice.slug, "Alice")]
        assert [(c.slug, c.title) for c in row.row_claims] == [(claim.slug, "Fraud")]
        (cited,) = row.row_citations
        assert (cited.pin_cite, cited.source.outlet) == ("p. 4", "Reuters")
        assert cited.source.link_url == "https://example.org/a"
        assert cited.source.is_coverage
        assert cited.source.display_date == citation.source.display_date
        assert row.get_absolute_url() == event.get_absolute_url()
        assert row.display_date == event.display_date
    assert "date_note" in row.get_deferred_fields()
    assert set(row.case.get_deferred_fields()) >= {"summary", "title"}


def test_the_lists_of_rows_stop_at_their_limit_in_timeline_order(case):
    """The overview's key events and the party and claim pages' events are the first
    `limit` in timeline order, read as rows (parties and sources with them)."""
    alice = PartyFactory()
    claim = ClaimFactory(case=case)
    for year in (2024, 2021, 2023, 2022):
        LinkedEventFactory(
            case=case,
            title=f"Event {year}",
            date=dt.date(year, 1, 1),
            is_key=True,
            parties=[alice],
            claims=[claim],
        )
    EventFactory(case=case, title="Not key", date=dt.date(2020, 1, 1))

    lists = [
        key_events(case=case, limit=3),
        party_events(case=case, party=alice, limit=3),
        claim_events(case=case, claim=claim, limit=3),
    ]

    for rows in lists:
        assert [row.title for row in rows] == ["Event 2021", "Event 2022", "Event 2023"]
        assert all(row.row_parties[0].slug == alice.slug for row in rows)


def test_timeline_rows_keep_the_orders_of_parties_and_citations(case):
    """Parties by name, citations by their source's key: the orders of the event
    page, whatever order they were linked in."""
    event = LinkedEventFactory(
        case=case,
        parties=[PartyFactory(name="Zed"), PartyFactory(name="Amy")],
    )
    CitationFactory(event=event, source__key="S2", source__outlet="Second")
    CitationFactory(event=event, source__key="S1", source__outlet="First")

    (row,) = timeline_rows(timeline_event_list(case=case))

    assert [p.name for p in row.row_parties] == ["Amy", "Zed"]
    assert [c.source.outlet for c in row.row_citations] == ["First", "Second"]


def test_timeline_rows_read_claims_only_when_asked(case, django_assert_num_queries):
    """A row shows no claims: only lanes drawn by claim ask for them, so every other
    list of rows runs one query fewer."""
    LinkedEventFactory(
        case=case, parties=[PartyFactory()], claims=[ClaimFactory(case=case)]
    )

    with django_assert_num_queries(TIMELINE_QUERIES - 1):
        (row,) = timeline_rows(timeline_event_list(case=case))
    with django_assert_num_queries(TIMELINE_QUERIES):
        (with_claims,) = timeline_rows(timeline_event_list(case=case), claims=True)

    assert not hasattr(row, "row_claims")
    assert len(with_claims.row_claims) == 1


# Month counts


def test_case_month_counts_count_dated_events_per_month(case):
    """Keys are first days of months (datetime.date), values the events in them."""
    for date, precision in [
        ("2024-12-31", DatePrecision.DAY),
        ("2025-01-01", DatePrecision.MONTH),
        ("2025-01-31", DatePrecision.DAY),
        ("2025-01-15", DatePrecision.DAY),
        ("2025-03-03", DatePrecision.DAY),
    ]:
        EventFactory(case=case, date=d(date), date_precision=precision)
    EventFactory(date=d("2025-01-10"))  # another case

    counts, total = case_month_counts(case=case)

    assert counts == {d("2024-12-01"): 1, d("2025-01-01"): 3, d("2025-03-01"): 1}
    assert all(type(month) is dt.date for month in counts)
    assert total == 5


def test_the_tally_of_a_filtered_list_counts_its_months(case):
    """Counting the filtered, ordered timeline gives the matched share per month."""
    alice = PartyFactory()
    LinkedEventFactory(case=case, date=d("2025-01-05"), parties=[alice])
    LinkedEventFactory(case=case, date=d("2025-01-06"), parties=[alice])
    LinkedEventFactory(case=case, date=d("2025-02-06"), parties=[alice])
    EventFactory(case=case, date=d("2025-01-07"))

    tally = timeline_tally(timeline_event_list(case=case, parties=[alice]))

    assert tally.months == {d("2025-01-01"): 2, d("2025-02-01"): 1}


def test_case_month_counts_of_no_events_are_empty(case):
    """No events, no months."""
    EventFactory(date=d("2025-01-10"))  # another case

    assert case_month_counts(case=case) == ({}, 0)


# Query budget

# One query for the rows (annotations included), one each for the prefetched
# parties, claims (when asked for) and citations with their sources.
TIMELINE_QUERIES = 4


@pytest.mark.parametrize("size", [3, 30])
def test_timeline_query_count_does_not_grow_with_the_case(
    case, django_assert_num_queries, size
):
    """Reading the filtered rows and everything a row shows takes the same, fixed
    number of queries for 3 events as for 30."""
    alice, bob = PartyFactory.create_batch(2)
    claim = ClaimFactory(case=case)
    for n in range(size):
        event = LinkedEventFactory(
            case=case, title=f"Exhibit {n}", parties=[alice, bob], claims=[claim]
        )
        TestimonyFactory(case=case, event=event)
        CitationFactory.create_batch(2, event=event)

    with django_assert_num_queries(TIMELINE_QUERIES):
        rows = list(
            timeline_rows(
                timeline_event_list(case=case, parties=[alice], q="exhibit"),
                claims=True,
            )
        )
        shown = [
            (
                row.case.slug,
                [party.name for party in row.row_parties],
                [c.title for c in row.row_claims],
                [citation.source.headline for citation in row.row_citations],
                row.testimony_count,
                render_row(row),
            )
            for row in rows
        ]

    assert len(shown) == size
    assert all(len(row[1]) == 2 and len(row[3]) == 2 for row in shown)


def test_coarser_precision_comes_first_on_a_shared_day(case):
    """Year-precision, then month-precision, then exact-day events of 1 January."""
    day = EventFactory(case=case, title="Day", date=dt.date(2016, 1, 1))
    month = EventFactory(
        case=case, title="Month", date=dt.date(2016, 1, 1), date_precision="month"
    )
    year = EventFactory(
        case=case, title="Year", date=dt.date(2016, 1, 1), date_precision="year"
    )
    later = EventFactory(case=case, title="Later", date=dt.date(2016, 1, 15))

    assert list(timeline_event_list(case=case)) == [year, month, day, later]


def test_case_month_counts_follow_every_change_of_the_events(case):
    """Cached per case, yet a new, changed or deleted event shows at once."""
    first = EventFactory(case=case, date=d("2024-03-05"))
    assert case_month_counts(case=case)[0] == {d("2024-03-01"): 1}

    EventFactory(case=case, date=d("2024-03-20"))
    assert case_month_counts(case=case)[0] == {d("2024-03-01"): 2}

    first.date = d("2025-01-02")
    first.save()
    assert case_month_counts(case=case)[0] == {d("2024-03-01"): 1, d("2025-01-01"): 1}

    first.delete()
    assert case_month_counts(case=case) == ({d("2024-03-01"): 1}, 1)

    EventFactory(case=case, date=d("2024-03-05"))
    assert case_month_counts(case=case) == ({d("2024-03-01"): 2}, 2)


def test_claim_get_reads_what_the_claim_page_shows_in_five_queries(
    case, django_assert_num_queries
):
    """The claim, its parties on each side, its sources and its steps with their
    events: nothing per step or per party, and nothing the page does not show."""
    claim = ClaimFactory(case=case)
    claim.asserted_by.add(*PartyFactory.create_batch(2))
    claim.against.add(PartyFactory())
    CitationFactory.create_batch(2, claim=claim, event=None, source__case=case)
    for _ in range(3):
        ClaimStatusChangeFactory(claim=claim, event=EventFactory(case=case))

    with django_assert_num_queries(5):
        found = claim_get(case=case, slug=claim.slug)
        shown = (
            [p.name for p in found.asserted_by.all()],
            [p.name for p in found.against.all()],
            [c.source.headline for c in found.citations.all()],
            [(s.display_date, s.event.get_absolute_url()) for s in found.history.all()],
        )

    assert [len(part) for part in shown] == [2, 1, 2, 3]
