"""The time budget on counts: the database stops a count that runs too long, the page
goes on without it, and the connection is none the worse."""

import contextlib
import io
import re

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from casetracker.db import OverBudgetError, QueryCounter, time_budget
from casetracker.models import Case, Event, Party
from casetracker.selectors import timeline_event_list, timeline_page, timeline_tally
from tests.factories import CaseFactory, EventFactory

pytestmark = pytest.mark.django_db

# Counts to `n` one row at a time: about a second per few million rows on either
# database, so 10**9 never finishes within a test's budget and 10**5 takes tens of ms.
COUNT_TO = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s)"
    " SELECT count(*) FROM c"
)


def count_to(n: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(COUNT_TO, [n])
        return cursor.fetchone()[0]


def test_a_statement_within_its_budget_returns_its_rows():
    with time_budget(5_000):
        assert count_to(1_000) == 1_000


def test_a_statement_over_its_budget_is_stopped_and_the_connection_goes_on():
    event = EventFactory()

    with pytest.raises(OverBudgetError), time_budget(5):
        count_to(10**9)

    # The caller's transaction is intact, and nothing of the budget is left over: a
    # statement longer than the budget runs to its end.
    event.title = "Written after the stopped count"
    event.save()
    assert Event.objects.get(pk=event.pk).title == "Written after the stopped count"
    assert count_to(10**5) == 10**5


def test_a_stopped_statement_inside_a_transaction_leaves_it_usable():
    with transaction.atomic():
        event = EventFactory(title="Before")
        with pytest.raises(OverBudgetError), time_budget(5):
            count_to(10**9)
        event.title = "After"
        event.save()
    assert Event.objects.get(pk=event.pk).title == "After"


def test_other_errors_inside_the_budget_are_not_mistaken_for_it():
    with (
        pytest.raises(DatabaseError) as raised,
        time_budget(5_000),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")
    assert not isinstance(raised.value, OverBudgetError)
    assert Event.objects.count() == 0  # and the connection still answers


@contextlib.contextmanager
def statements_slower_than_a_millisecond():
    """A budget of 0 is a statement_timeout of 1 ms on PostgreSQL, which a fast
    machine's count of a few thousand events can beat: each statement first waits
    a few ms in the server, where the timeout counts. (SQLite's progress handler
    stops a statement at its first step whatever the machine.)"""
    if connection.vendor != "postgresql":
        yield
        return

    def wait_first(execute, sql, params, many, context):
        if sql.lstrip().startswith(("SELECT", "WITH")):  # not a savepoint's rollback
            with context["connection"].wrap_database_errors:
                context["cursor"].cursor.execute("SELECT pg_sleep(0.005)")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wait_first):
        yield


@pytest.fixture
def big_case():
    """A few thousand events, whose searches a budget of 0 stops (with
    statements_slower_than_a_millisecond on PostgreSQL)."""
    call_command(
        "generate_synthetic_case", "budget", events=3_000, seed=5, stdout=io.StringIO()
    )
    return Case.objects.get(slug="budget")


def test_a_count_over_budget_says_not_counted(big_case, settings):
    party = Party.objects.filter(events__case=big_case).first()
    events = timeline_event_list(case=big_case, parties=[party], q="court")
    settings.CASETRACKER_COUNT_BUDGET_MS = 60_000
    counted = timeline_tally(events)

    settings.CASETRACKER_COUNT_BUDGET_MS = 0
    with statements_slower_than_a_millisecond():
        stopped = timeline_tally(events)

    assert counted.exact and counted.count > 25
    assert stopped == (None, False, None) and not stopped.exact


def test_the_timeline_goes_on_without_a_count_over_budget(client, big_case, settings):
    url = reverse("case_timeline", kwargs={"case": big_case.slug})
    params = {"q": "court", "kind": ["ruling", "filing", "hearing", "trial_day"]}
    total = Event.objects.filter(case=big_case).count()
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0  # two renders of one URL
    client.get(url)  # fills the cached month counts of the whole case, for both

    settings.CASETRACKER_COUNT_BUDGET_MS = 60_000
    # Once counted, the search's side of the cap is known until the case changes
    # (selectors._text_tally): both requests below run with it known.
    client.get(url, params)
    with QueryCounter() as counted_queries:
        counted = client.get(url, params)
    settings.CASETRACKER_COUNT_BUDGET_MS = 0
    with QueryCounter() as stopped_queries, statements_slower_than_a_millisecond():
        stopped = client.get(url, params)

    assert counted.status_code == stopped.status_code == 200
    assert "counting them all would take too long" not in counted.text
    # What the page read proves: its 25 rows and the first of the next page.
    assert f"At least 26 of {total} events match the filters" in stopped.text
    assert "counting them all would take too long" in stopped.text
    assert "counting the matches month by month would take too long" in stopped.text
    # Not counted, so not ranked either: the first page in timeline order.
    assert "shown in timeline order" in stopped.text
    expected = timeline_page(
        timeline_event_list(
            case=big_case, q="court", kinds=params["kind"], ranked=False
        ),
        size=25,
    ).object_list
    shown = re.findall(r'id="event-([^"]+)"', stopped.text)
    assert shown == [event.slug for event in expected]
    assert stopped_queries.count == counted_queries.count


def test_a_page_that_holds_every_match_counts_them_itself(client, settings):
    case = CaseFactory()
    for title in ("Appeal filed", "Appeal heard", "Motion denied"):
        EventFactory(case=case, title=title)
    settings.CASETRACKER_COUNT_BUDGET_MS = 0

    page = client.get(
        reverse("case_timeline", kwargs={"case": case.slug}), {"q": "appeal"}
    )

    assert "2 of 3 events match the filters" in page.text
    assert "counting them all would take too long" not in page.text


def test_a_rollback_stopped_by_the_budget_is_tried_again():
    """Undoing the budget's savepoint runs under the budget's own timeout, which a
    busy server can overrun; the caller's transaction must survive it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's progress handler ends with the block.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    stopped = []

    def first_rollback_overruns(execute, sql, params, many, context):
        if sql.startswith("ROLLBACK TO SAVEPOINT") and not stopped:
            # What the server does with a rollback slower than the budget.
            stopped.append(sql)
            return execute("SELECT pg_sleep(1)", None, many, context)
        return execute(sql, params, many, context)

    event = EventFactory(title="Before")
    with connection.execute_wrapper(first_rollback_overruns), time_budget(50):
        assert count_to(1_000) == 1_000

    assert stopped
    event.title = "After"
    event.save()
    assert Event.objects.get(pk=event.pk).title == "After"
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


@pytest.mark.django_db(transaction=True)
def test_a_budget_outside_any_transaction_is_a_transaction_of_its_own():
    """As on a served page: no savepoint to make and undo, only the count's
    statements, and the connection is back in autocommit with no timeout after."""
    with QueryCounter() as counter, pytest.raises(OverBudgetError), time_budget(5):
        count_to(10**9)

    assert not any("SAVEPOINT" in sql for sql in counter.statements)
    assert connection.get_autocommit() and not connection.in_atomic_block
    EventFactory(title="Written after")
    assert Event.objects.filter(title="Written after").exists()
    assert count_to(10**5) == 10**5
