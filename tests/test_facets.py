"""The facet rows (casetracker/facets.py) follow every change to links and events."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection

from casetracker import facets
from casetracker.choices import DatePrecision
from casetracker.models import Event, EventFacet
from tests.factories import CaseFactory, ClaimFactory, EventFactory, PartyFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def rows() -> set[tuple]:
    return set(
        EventFacet.objects.values_list(
            "case_id", "kind", "target_id", "date", "date_rank", "event_id"
        )
    )


def expected() -> set[tuple]:
    """What the facet table should hold, computed from the links in Python."""
    wanted = set()
    for event in Event.objects.prefetch_related("parties", "claims"):
        for kind, targets in (("p", event.parties.all()), ("c", event.claims.all())):
            for target in targets:
                wanted.add(
                    (
                        event.case_id,
                        kind,
                        target.pk,
                        event.date,
                        event.date_rank,
                        event.pk,
                    )
                )
    return wanted


@pytest.fixture
def linked():
    case = CaseFactory()
    party, other_party = PartyFactory(), PartyFactory()
    claim = ClaimFactory(case=case)
    event = EventFactory(case=case, date=D(2024, 5, 6))
    event.parties.add(party, other_party)
    event.claims.add(claim)
    return case, event, party, other_party, claim


def test_adding_links_adds_rows_with_the_events_place(linked):
    case, event, party, other_party, claim = linked
    event.refresh_from_db()

    assert rows() == {
        (case.pk, "p", party.pk, D(2024, 5, 6), 2, event.pk),
        (case.pk, "p", other_party.pk, D(2024, 5, 6), 2, event.pk),
        (case.pk, "c", claim.pk, D(2024, 5, 6), 2, event.pk),
    }


def test_rows_follow_removed_links_and_moved_events(linked):
    case, event, party, other_party, claim = linked

    event.parties.remove(other_party)
    assert rows() == expected()

    event.date, event.date_precision = D(2023, 1, 1), DatePrecision.YEAR
    event.save()
    assert rows() == expected()
    assert {row[3:5] for row in rows()} == {(D(2023, 1, 1), 0)}

    Event.objects.filter(pk=event.pk).update(
        date=D(2022, 3, 1), date_precision=DatePrecision.MONTH
    )
    assert {row[3:5] for row in rows()} == {(D(2022, 3, 1), 1)}

    event.claims.clear()
    assert rows() == expected()
    assert len(rows()) == 1


def test_rows_follow_raw_sql_and_deletes(linked):
    case, event, party, other_party, claim = linked
    links = Event.parties.through._meta.db_table
    replacement = PartyFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {links} SET party_id = %s WHERE party_id = %s",
            [replacement.pk, other_party.pk],
        )
    assert rows() == expected()
    assert (case.pk, "p", replacement.pk, D(2024, 5, 6), 2, event.pk) in rows()

    event.delete()
    assert rows() == set()


def test_migrate_rebuilds_rows_written_while_the_triggers_were_off(linked):
    case, event, party, other_party, claim = linked
    facets.drop_triggers()
    try:
        event.parties.remove(party)
        EventFactory(case=case).claims.add(claim)
        assert rows() != expected()
    finally:
        call_command("migrate", verbosity=0)

    assert rows() == expected()
    # And the triggers are back.
    EventFactory(case=case).parties.add(party)
    assert rows() == expected()


def test_a_one_party_date_range_is_read_from_the_facet_index(linked):
    from casetracker.selectors import timeline_event_list

    case, _, party, _, claim = linked
    for year in range(2019, 2025):
        EventFactory(case=case, date=D(year, 3, 1), title=f"Y{year}").parties.add(party)
    EventFactory(case=case, date=D(2021, 3, 1), title="Without the party")

    for lead in ({"parties": [party]}, {"claims": [claim]}):
        events = timeline_event_list(
            case=case, date_from=D(2020, 3, 1), date_to=D(2022, 3, 1), **lead
        )
        sql = str(events.query)
        # The range is on the facet row's date, so the index seeks to it instead of
        # reading the party's earlier rows and each one's event.
        assert '"facet"."date" >=' in sql and '"facet"."date" <=' in sql

    events = timeline_event_list(
        case=case, parties=[party], date_from=D(2020, 3, 1), date_to=D(2022, 3, 1)
    )
    assert [e.title for e in events] == ["Y2020", "Y2021", "Y2022"]


def test_a_one_party_or_claim_count_reads_the_facet_index_alone(linked):
    from casetracker.selectors import (
        timeline_event_list,
        timeline_filtered_tally,
        timeline_tally,
    )

    case, _, party, other_party, claim = linked
    for year in range(2019, 2025):
        event = EventFactory(case=case, date=D(year, 3, 1))
        event.parties.add(party)
        if year % 2:
            event.claims.add(claim)
    EventFactory(case=case, date=D(2021, 3, 1)).parties.add(other_party)

    # (filters, counted from the facet index alone)
    combinations = [
        ({"parties": [party]}, True),
        ({"claims": [claim]}, True),
        (
            {
                "parties": [party],
                "date_from": D(2020, 1, 1),
                "date_to": D(2022, 12, 31),
            },
            True,
        ),
        ({"claims": [claim], "date_from": D(2021, 1, 1)}, True),
        ({"parties": [party], "kinds": ["filing"]}, False),
        ({"parties": [party], "claims": [claim]}, False),
        ({"parties": [party, other_party]}, False),
    ]
    for filters, alone in combinations:
        statements = []

        def log(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(log):
            tally = timeline_filtered_tally(case=case, **filters)

        assert tally == timeline_tally(timeline_event_list(case=case, **filters))
        reads_events = any('"casetracker_event"' in sql for sql in statements)
        assert reads_events is not alone, filters
