"""The case revision: every change to a case's data bumps it, however it is made."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from casetracker import selectors
from casetracker.models import Event, Testimony
from casetracker.revisions import CASES_OF, case_revision
from casetracker.selectors import case_month_counts
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    PartyFactory,
    SourceFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def revision(case) -> int:
    return case_revision(case)[0]


@pytest.fixture
def case():
    return CaseFactory()


def test_a_new_case_starts_with_a_revision(case):
    number, changed_at = case_revision(case)

    assert number >= 1
    assert changed_at is not None


def test_every_kind_of_write_bumps_the_revision(case):
    """ORM save, bulk create, queryset update and delete, links, raw SQL."""
    steps = []

    def check(label):
        steps.append((label, revision(case)))

    check("start")
    event = EventFactory(case=case)
    check("create")
    event.title = "Renamed"
    event.save()
    check("save")
    Event.objects.bulk_create(
        [Event(case=case, slug="bulk", title="B", kind="filing", date=D(2024, 1, 1))]
    )
    check("bulk_create")
    Event.objects.filter(case=case).update(summary="Same for all")
    check("queryset update")
    party = PartyFactory()
    event.parties.add(party)
    check("link a party")
    event.parties.remove(party)
    check("unlink a party")
    claim = ClaimFactory(case=case)
    event.claims.add(claim)
    check("link a claim")
    ClaimStatusChangeFactory(claim=claim, event=event)
    check("status change")
    source = SourceFactory(case=case)
    CitationFactory(source=source, event=event)
    check("citation")
    TestimonyFactory(case=case, event=event)
    check("testimony")
    Testimony.objects.filter(case=case).update(text="Changed words.")
    check("testimony update")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE casetracker_event SET title = 'Raw' WHERE case_id = %s", [case.pk]
        )
    check("raw SQL")
    Event.objects.filter(case=case, slug="bulk").delete()
    check("delete")
    case.title = "A new caption"
    case.save()
    check("the case itself")

    numbers = [number for _, number in steps]
    assert numbers == sorted(set(numbers)), steps  # strictly rising at every step


def test_renaming_a_party_bumps_every_case_that_names_it():
    party = PartyFactory()
    by_role, by_event, unrelated = CaseFactory.create_batch(3)
    CasePartyFactory(case=by_role, party=party)
    EventFactory(case=by_event).parties.add(party)
    before = {c.pk: revision(c) for c in (by_role, by_event, unrelated)}

    party.name = "Renamed party"
    party.save()

    assert revision(by_role) > before[by_role.pk]
    assert revision(by_event) > before[by_event.pk]
    assert revision(unrelated) == before[unrelated.pk]


def test_a_change_to_one_case_leaves_the_others_alone(case):
    other = CaseFactory()
    EventFactory(case=other)
    before = revision(other)

    EventFactory(case=case)

    assert revision(other) == before


def test_every_table_of_case_data_has_its_triggers():
    """A new table of case data must be added to revisions.CASES_OF."""
    from django.apps import apps

    tables = {
        model._meta.db_table
        for model in apps.get_app_config("casetracker").get_models(
            include_auto_created=True
        )
        if model._meta.db_table != "casetracker_caserevision"
        # The audit history (models/history.py) is not data the pages show.
        and not model.__name__.startswith("Historical")
        and not model._meta.db_table.startswith("casetracker_event_search")
        # Derived by triggers of their own (casetracker/facets.py, months.py).
        and model._meta.db_table
        not in ("casetracker_eventfacet", "casetracker_casemonth")
        and not model._meta.proxy
        and model._meta.managed
    }
    assert tables == set(CASES_OF)


def test_month_counts_follow_an_edit_made_between_two_requests(case):
    EventFactory(case=case, date=D(2024, 3, 5))
    event = EventFactory(case=case, date=D(2024, 3, 6))
    assert case_month_counts(case=case) == ({D(2024, 3, 1): 2}, 2)

    Event.objects.filter(pk=event.pk).update(date=D(2025, 1, 1))

    assert case_month_counts(case=case) == ({D(2024, 3, 1): 1, D(2025, 1, 1): 1}, 2)


def test_a_value_kept_per_revision_is_made_again_after_a_change_or_a_release(
    case, monkeypatch
):
    made = []

    def make() -> int:
        made.append(1)
        return len(made)

    first = selectors.per_revision(case, "test-value", make)
    again = selectors.per_revision(case, "test-value", make)
    EventFactory(case=case)
    changed = selectors.per_revision(case, "test-value", make)
    monkeypatch.setattr(
        selectors,
        "code_version",
        lambda: ("another-release", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    )
    released = selectors.per_revision(case, "test-value", make)

    assert (first, again, changed, released) == (1, 1, 2, 3)


def test_an_admin_edit_shows_on_the_next_timeline_request(client, staff_client, case):
    """The cached strip and total are not stale after a save through the admin."""
    event = EventFactory(case=case, date=D(2024, 3, 5), title="Before the edit")
    timeline = reverse("case_timeline", kwargs={"case": case.slug})
    assert 'data-month="2024-03"' in client.get(timeline).text

    change = reverse("admin:casetracker_event_change", args=[event.pk])
    form = staff_client.get(change).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list)
    }
    data.update(
        {
            "date": "2025-07-09",
            "title": "After the edit",
            **{
                f"{prefix}-TOTAL_FORMS": "0"
                for prefix in _inline_prefixes(staff_client, change)
            },
            **{
                f"{prefix}-INITIAL_FORMS": "0"
                for prefix in _inline_prefixes(staff_client, change)
            },
        }
    )
    response = staff_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    page = client.get(timeline).text
    assert "After the edit" in page
    assert 'data-month="2025-07"' in page
    assert 'data-month="2024-03"' not in page


def _inline_prefixes(client, url) -> list[str]:
    return [
        formset.formset.prefix
        for formset in client.get(url).context["inline_admin_formsets"]
    ]


def test_deferred_bump_moves_the_revision_once_after_a_bulk_write(case):
    from django.db import transaction

    from casetracker.revisions import deferred_bump

    other = CaseFactory()
    before, other_before = revision(case), revision(other)
    with transaction.atomic(), deferred_bump([case.pk]):
        Event.objects.bulk_create(
            [
                Event(
                    case=case,
                    slug=f"b{n}",
                    title="B",
                    kind="filing",
                    date=D(2024, 1, 1),
                )
                for n in range(5)
            ]
        )
        # Paused: the rows are written, the revision has not moved yet.
        assert revision(case) == before

    assert revision(case) == before + 1
    assert revision(other) == other_before
    # The pause ended with the block: the next write bumps as before.
    EventFactory(case=case)
    assert revision(case) == before + 2


def test_deferred_bump_leaves_no_pause_behind_when_the_block_fails(case):
    from django.db import transaction

    from casetracker.revisions import PAUSED_TABLE, deferred_bump

    before = revision(case)
    with pytest.raises(RuntimeError), transaction.atomic(), deferred_bump([case.pk]):
        EventFactory(case=case)
        raise RuntimeError("the import broke")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {PAUSED_TABLE}")
        assert cursor.fetchone()[0] == 0
    assert revision(case) == before
    EventFactory(case=case)
    assert revision(case) == before + 1


def test_deferred_bump_needs_a_transaction(case):
    from django.db.transaction import TransactionManagementError

    from casetracker.revisions import deferred_bump

    with pytest.raises(TransactionManagementError), deferred_bump([case.pk]):
        pass
