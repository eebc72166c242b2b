"""The counts by month (casetracker/months.py) follow every change to the events, and
the pages that show them read no event."""

import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from casetracker import months, selectors
from casetracker.db import QueryCounter
from casetracker.models import CaseMonth, Event
from tests.factories import CaseFactory, EventFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def rows() -> dict[tuple[int, dt.date], int]:
    return {
        (case, month): n
        for case, month, n in CaseMonth.objects.values_list("case", "month", "events")
    }


def expected() -> dict[tuple[int, dt.date], int]:
    """What the table should hold, counted from the events in Python."""
    return dict(
        Counter(
            (case, date.replace(day=1))
            for case, date in Event.objects.values_list("case", "date")
        )
    )


@pytest.fixture
def cases():
    first, second = CaseFactory(), CaseFactory()
    EventFactory(case=first, date=D(2024, 5, 6))
    EventFactory(case=first, date=D(2024, 5, 31))
    EventFactory(case=first, date=D(2023, 1, 1), date_precision="year")
    EventFactory(case=second, date=D(2024, 5, 1))
    return first, second


def test_inserted_events_are_counted_in_their_cases_month(cases):
    first, second = cases

    assert rows() == {
        (first.pk, D(2024, 5, 1)): 2,
        (first.pk, D(2023, 1, 1)): 1,
        (second.pk, D(2024, 5, 1)): 1,
    }


def test_counts_follow_moved_and_deleted_events(cases):
    first, second = cases
    event = Event.objects.filter(case=first, date=D(2024, 5, 6)).get()

    event.date = D(2024, 5, 20)  # the same month: nothing moves
    event.save()
    assert rows() == expected()

    event.date = D(2025, 2, 3)
    event.save()
    assert rows() == expected()
    assert rows()[(first.pk, D(2025, 2, 1))] == 1

    event.case = second
    event.save()
    assert rows() == expected()
    assert (first.pk, D(2025, 2, 1)) not in rows()

    event.delete()
    assert rows() == expected()
    assert (second.pk, D(2025, 2, 1)) not in rows()


def test_counts_follow_bulk_writes_raw_sql_and_deletes(cases):
    first, second = cases
    Event.objects.bulk_create(
        [
            Event(case=second, title=f"Bulk {n}", slug=f"bulk-{n}", date=D(2020, n, 1))
            for n in range(1, 13)
        ]
    )
    assert rows() == expected()

    Event.objects.filter(case=second).update(date=D(2021, 6, 15))
    assert rows() == expected()
    assert rows()[(second.pk, D(2021, 6, 1))] == 13

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE casetracker_event SET case_id = %s WHERE case_id = %s",
            [first.pk, second.pk],
        )
    assert rows() == expected()

    Event.objects.filter(date__year=2021).delete()
    assert rows() == expected()

    Event.objects.all().delete()
    assert rows() == {}


def test_migrate_recounts_events_written_while_the_triggers_were_off(cases):
    first, second = cases
    months.drop_triggers()
    try:
        EventFactory(case=second, date=D(2019, 9, 9))
        Event.objects.filter(case=first, date__year=2023).delete()
        assert rows() != expected()
    finally:
        call_command("migrate", verbosity=0)

    assert rows() == expected()
    # And the triggers are back.
    EventFactory(case=second, date=D(2019, 9, 30))
    assert rows() == expected()
    assert rows()[(second.pk, D(2019, 9, 1))] == 2


def test_case_month_counts_read_the_kept_counts(cases):
    first, _ = cases

    assert selectors.case_month_counts(case=first) == (
        {D(2023, 1, 1): 1, D(2024, 5, 1): 2},
        3,
    )


def test_the_case_list_reads_counts_and_spans_from_the_months(cases):
    first, second = cases
    empty = CaseFactory()

    listed = {case.pk: case for case in selectors.case_list()}

    assert [
        (listed[c.pk].event_count, listed[c.pk].first_month, listed[c.pk].last_month)
        for c in (first, second, empty)
    ] == [
        (3, D(2023, 1, 1), D(2024, 5, 1)),
        (1, D(2024, 5, 1), D(2024, 5, 1)),
        (0, None, None),
    ]
    sql = str(selectors.case_list().query)
    assert "casetracker_event" not in sql


def test_the_case_list_page_shows_each_cases_count_and_span(client, cases):
    first, _ = cases

    response = client.get(reverse("case_list"))

    assert "3 events, January 2023 to May 2024." in response.text
    assert "1 event, May 2024." in response.text


def test_the_case_list_runs_as_many_queries_for_many_cases(client, cases, settings):
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0  # rendered each time
    url = reverse("case_list")
    client.get(url)
    with QueryCounter() as two:
        client.get(url)
    for _ in range(5):
        EventFactory(case=CaseFactory(), date=D(2022, 2, 2))

    with QueryCounter() as seven:
        response = client.get(url)

    assert seven.count == two.count >= 2
    assert response.text.count("1 event, February 2022.") == 5
