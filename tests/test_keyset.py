"""Keyset pagination: stable order, no duplicates or gaps, the same cost at any depth."""

import datetime as dt
import random
from collections import Counter

import pytest

from casetracker.choices import DatePrecision
from casetracker.db import QueryCounter
from casetracker.keyset import Cursor, CursorError
from casetracker.models import Event
from casetracker.selectors import (
    event_neighbours,
    timeline_event_list,
    timeline_page,
    timeline_tally,
)
from tests.factories import CaseFactory, EventFactory, PartyFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def crowded_case():
    """53 events on only four first days, in every precision, entered out of order:
    the order must come from (date, precision, id), not from luck."""
    case = CaseFactory()
    rng = random.Random(7)
    days = [D(2024, 1, 1), D(2024, 3, 1), D(2025, 1, 1), D(2025, 1, 2)]
    for n in range(53):
        date = rng.choice(days)
        precision = (
            rng.choice(list(DatePrecision)) if date.day == 1 else DatePrecision.DAY
        )
        if precision == DatePrecision.YEAR:
            date = date.replace(month=1)
        EventFactory(case=case, date=date, date_precision=precision, title=f"E{n}")
    EventFactory(date=D(2024, 1, 1))  # another case, in the middle of the dates
    return case


def expected_order(case) -> list[int]:
    rank = {DatePrecision.YEAR: 0, DatePrecision.MONTH: 1, DatePrecision.DAY: 2}
    events = Event.objects.filter(case=case)
    return [
        e.pk
        for e in sorted(events, key=lambda e: (e.date, rank[e.date_precision], e.pk))
    ]


def walk_forward(events, size):
    ids, page, pages = [], timeline_page(events, size=size), 0
    while True:
        ids += [e.pk for e in page.object_list]
        pages += 1
        if not page.has_next:
            return ids, pages
        page = timeline_page(
            events, size=size, after=Cursor.parse(page.next_params["after"])
        )


@pytest.mark.parametrize("size", [1, 5, 25, 53, 100])
def test_following_next_links_visits_every_event_once_in_order(crowded_case, size):
    ids, pages = walk_forward(timeline_event_list(case=crowded_case), size)

    assert ids == expected_order(crowded_case)
    assert pages == max(1, -(-53 // size))


def test_following_previous_links_back_from_the_end_gives_the_same_order(crowded_case):
    events = timeline_event_list(case=crowded_case)
    wanted = expected_order(crowded_case)
    last = Event.objects.get(pk=wanted[-1])
    page = timeline_page(events, size=10, after=Cursor.of(last))
    assert page.object_list == [] and page.has_previous

    ids = []
    while page.has_previous:
        page = timeline_page(
            events, size=10, before=Cursor.parse(page.previous_params["before"])
        )
        ids = [e.pk for e in page.object_list] + ids
    assert ids == wanted


def test_a_previous_page_links_forward_to_where_it_came_from(crowded_case):
    events = timeline_event_list(case=crowded_case)
    second = timeline_page(
        events,
        size=10,
        after=Cursor.parse(timeline_page(events, size=10).next_params["after"]),
    )
    back = timeline_page(
        events, size=10, before=Cursor.parse(second.previous_params["before"])
    )

    assert [e.pk for e in back] == expected_order(crowded_case)[:10]
    assert not back.has_previous
    assert back.next_params == {"after": str(Cursor.of(back.object_list[-1]))}


def test_filters_apply_on_every_page(crowded_case):
    party = PartyFactory()
    chosen = list(Event.objects.filter(case=crowded_case).order_by("?")[:17])
    for event in chosen:
        event.parties.add(party)
    events = timeline_event_list(case=crowded_case, parties=[party])

    ids, _ = walk_forward(events, 4)

    assert ids == [
        pk for pk in expected_order(crowded_case) if pk in {e.pk for e in chosen}
    ]


def test_an_event_added_before_the_cursor_neither_repeats_nor_shifts_the_next_page(
    crowded_case,
):
    events = timeline_event_list(case=crowded_case)
    first = timeline_page(events, size=10)
    wanted_next = [
        e.pk
        for e in timeline_page(
            events, size=10, after=Cursor.parse(first.next_params["after"])
        )
    ]

    EventFactory(
        case=crowded_case, date=D(2023, 1, 1), date_precision=DatePrecision.YEAR
    )
    after = timeline_page(
        events, size=10, after=Cursor.parse(first.next_params["after"])
    )

    assert [e.pk for e in after] == wanted_next


def test_a_numbered_page_goes_on_by_cursor(crowded_case):
    """Old ?page=N links still work; the links from them are cursors."""
    events = timeline_event_list(case=crowded_case)
    wanted = expected_order(crowded_case)

    page = timeline_page(events, size=10, number=3)

    assert [e.pk for e in page] == wanted[20:30]
    assert page.start == 21
    assert page.next_params == {"after": str(Cursor.of(page.object_list[-1]))}
    assert page.previous_params == {"before": str(Cursor.of(page.object_list[0]))}


def test_a_deep_page_costs_the_same_queries_as_the_first(crowded_case):
    events = timeline_event_list(case=crowded_case)
    deep = Cursor.of(Event.objects.get(pk=expected_order(crowded_case)[45]))

    with QueryCounter() as first:
        timeline_page(events, size=5)
    with QueryCounter() as later:
        timeline_page(events, size=5, after=deep)

    assert first.count == later.count > 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-03-01",
        "2024-03-01.2",
        "2024-03-01.3.5",
        "x.2.5",
        "2024-02-30.2.5",
        "2024-03-01.2.-5",
    ],
)
def test_damaged_cursors_are_refused_with_a_message(text):
    with pytest.raises(CursorError, match="link to a page of events"):
        Cursor.parse(text)


def test_a_cursor_reads_back_what_it_wrote():
    cursor = Cursor(D(2024, 3, 1), 1, 1234)

    assert Cursor.parse(str(cursor)) == cursor
    assert str(cursor) == "2024-03-01.1.1234"


def test_counts_stop_at_the_cap(crowded_case, monkeypatch):
    monkeypatch.setattr("casetracker.selectors.COUNT_CAP", 20)
    events = timeline_event_list(case=crowded_case)

    assert timeline_tally(events)[:2] == (20, True)
    few = Event.objects.filter(case=crowded_case, date=D(2025, 1, 2)).count()
    assert 0 < few < 20
    assert timeline_tally(events.filter(date=D(2025, 1, 2)))[:2] == (few, False)


def test_neighbours_follow_the_timeline_order(crowded_case):
    wanted = expected_order(crowded_case)
    middle = Event.objects.get(pk=wanted[10])

    previous, following = event_neighbours(event=middle)

    assert (previous.pk, following.pk) == (wanted[9], wanted[11])
    first = Event.objects.get(pk=wanted[0])
    last = Event.objects.get(pk=wanted[-1])
    assert event_neighbours(event=first)[0] is None
    assert event_neighbours(event=last)[1] is None


def test_neighbours_take_two_queries(crowded_case, django_assert_num_queries):
    """One seek each way, with what the event page shows of each (its link's slug
    and its title) and the cursor's columns."""
    middle = Event.objects.get(pk=expected_order(crowded_case)[10])

    with django_assert_num_queries(2):
        previous, following = event_neighbours(event=middle)
        links = [(e.slug, e.title) for e in (previous, following)]

    assert all(slug and title for slug, title in links)


@pytest.mark.parametrize("filters", ["party", "claim", "party+claim", "party+kind"])
def test_one_party_or_claim_pages_forward_and_back_in_timeline_order(
    crowded_case, filters
):
    """One party or claim is read from its facet index: the same order and pages."""
    from tests.factories import ClaimFactory

    party, claim = PartyFactory(), ClaimFactory(case=crowded_case)
    rng = random.Random(filters)
    events = list(Event.objects.filter(case=crowded_case))
    for event in events:
        if rng.random() < 0.6:
            event.parties.add(party)
        if rng.random() < 0.6:
            event.claims.add(claim)
    # The same party on another case's events must not leak in.
    EventFactory(date=D(2024, 1, 1)).parties.add(party)
    wanted_kind = events[0].kind
    expected = [
        pk
        for pk in expected_order(crowded_case)
        if ("party" not in filters or party.events.filter(pk=pk).exists())
        and ("claim" not in filters or claim.events.filter(pk=pk).exists())
        and ("kind" not in filters or Event.objects.get(pk=pk).kind == wanted_kind)
    ]
    arguments = {
        "party": {"parties": [party]},
        "claim": {"claims": [claim]},
        "party+claim": {"parties": [party], "claims": [claim]},
        "party+kind": {"parties": [party], "kinds": [wanted_kind]},
    }[filters]
    matching = timeline_event_list(case=crowded_case, **arguments)

    forward, _ = walk_forward(matching, 3)
    page = timeline_page(
        matching, size=3, after=Cursor.of(Event.objects.get(pk=expected[-1]))
    )
    backward = []
    while page.has_previous:
        page = timeline_page(
            matching, size=3, before=Cursor.parse(page.previous_params["before"])
        )
        backward = [e.pk for e in page.object_list] + backward

    assert expected
    assert forward == expected
    assert backward == expected
    assert timeline_tally(matching)[:2] == (len(expected), False)


def test_the_tally_counts_months_below_the_cap_and_stops_past_it(
    crowded_case, monkeypatch
):
    from casetracker import selectors

    events = timeline_event_list(case=crowded_case)
    below = timeline_tally(events)
    monkeypatch.setattr(selectors, "COUNT_CAP", 52)
    past = timeline_tally(events)

    assert below.count == 53 and not below.capped
    assert below.months == dict(
        Counter(date.replace(day=1) for date in events.values_list("date", flat=True))
    )
    assert past == (52, True, None)


def test_the_tally_of_a_queryset_that_matches_nothing_is_empty(crowded_case):
    assert timeline_tally(timeline_event_list(case=crowded_case).none()) == (
        0,
        False,
        {},
    )
    assert timeline_tally(timeline_event_list(case=crowded_case, q="!!")) == (
        0,
        False,
        {},
    )
