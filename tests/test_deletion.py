"""A party, claim or source that anything still refers to cannot be deleted, by any path:
the model, a queryset, the admin's delete page or its "Delete selected" action."""

import re

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from casetracker.db import QueryCounter
from casetracker.models import (
    Case,
    CaseParty,
    Claim,
    Event,
    NewsCoverage,
    Party,
    Source,
)
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    LinkedEventFactory,
    NewsCoverageFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db


def party_in_event():
    party = PartyFactory(name="Sam Altman")
    LinkedEventFactory(parties=[party], title="Altman testifies")
    return party, "1 event (first: ", "Altman testifies"


def party_asserting_claim():
    party = PartyFactory()
    ClaimFactory(title="Breach of charitable trust").asserted_by.set([party])
    return party, "1 claim (first: Breach of charitable trust)", None


def party_facing_claim():
    party = PartyFactory()
    ClaimFactory(title="Unjust enrichment").against.set([party])
    return party, "1 claim (first: Unjust enrichment)", None


def party_represented():
    party = PartyFactory()
    CasePartyFactory(role="counsel").represents.set([party])
    return party, "1 party role (first: ", None


def party_covered():
    party = PartyFactory()
    SourceFactory(outlet="Reuters").parties.set([party])
    return party, "1 source (first: ", "Reuters"


def party_with_role():
    party = CasePartyFactory().party
    return party, "1 party role (first: ", None


def party_witness():
    party = PartyFactory()
    TestimonyFactory(witness=party)
    return party, "1 testimony excerpt (first: ", None


def party_judge():
    party = PartyFactory()
    ProceedingFactory(judge=party, name="Federal action")
    return party, "1 proceeding (first: Federal action", None


def claim_in_event():
    claim = ClaimFactory()
    LinkedEventFactory(claims=[claim], case=claim.case, title="Motion to dismiss")
    return claim, "1 event (first: ", "Motion to dismiss"


def claim_in_testimony():
    claim = ClaimFactory()
    TestimonyFactory(case=claim.case).claims.set([claim])
    return claim, "1 testimony excerpt (first: ", None


def source_cited_by_event():
    citation = CitationFactory(event__title="Complaint filed", source__headline="Order")
    return citation.source, "1 event (first: ", "Complaint filed"


def source_of_proceeding():
    source = SourceFactory(headline="Docket")
    ProceedingFactory(case=source.case, name="State action").sources.set([source])
    return source, "1 proceeding (first: State action", None


def source_of_party():
    source = SourceFactory(headline="Profile")
    PartyFactory(name="Greg Brockman").sources.set([source])
    return source, "1 party (first: Greg Brockman)", None


def source_of_role():
    source = SourceFactory(headline="Appearance")
    CasePartyFactory(case=source.case).sources.set([source])
    return source, "1 party role (first: ", None


# Sources' names are short here: the message shortens a name past 80 characters.
REFERENCED = [
    party_in_event,
    party_asserting_claim,
    party_facing_claim,
    party_represented,
    party_covered,
    party_with_role,
    party_witness,
    party_judge,
    claim_in_event,
    claim_in_testimony,
    source_cited_by_event,
    source_of_proceeding,
    source_of_party,
    source_of_role,
]
referenced = pytest.mark.parametrize(
    "make", REFERENCED, ids=[make.__name__ for make in REFERENCED]
)


@referenced
def test_deleting_a_referenced_row_is_refused_naming_the_referrer(make):
    obj, referrer, detail = make()
    model = type(obj)

    with pytest.raises(ProtectedError) as caught:
        obj.delete()

    message = caught.value.args[0]
    assert f"“{obj}” is still referred to by {referrer}" in message
    if detail:
        assert detail in message
    assert caught.value.protected_objects
    assert model.objects.filter(pk=obj.pk).exists()


@referenced
def test_queryset_deletes_are_refused_too(make):
    """The default manager, the base manager (the pre_delete backstop) and the
    related managers all refuse, and the many-to-many links stay."""
    obj, referrer, _ = make()
    model = type(obj)
    links = snapshot_links(obj)

    with pytest.raises(ProtectedError, match="is still referred to by"):
        model.objects.filter(pk=obj.pk).delete()
    # The base manager skips the early check: Django's PROTECT or the pre_delete
    # backstop refuses. The backstop raises inside the collector's transaction, which
    # is then rolled back: a caller that goes on after catching it needs a savepoint.
    with pytest.raises(ProtectedError), transaction.atomic():
        model._base_manager.filter(pk=obj.pk).delete()

    assert model.objects.filter(pk=obj.pk).exists()
    assert snapshot_links(obj) == links


def snapshot_links(obj) -> dict:
    return {
        rel.get_accessor_name(): sorted(
            getattr(obj, rel.get_accessor_name()).values_list("pk", flat=True)
        )
        for rel in obj._meta.related_objects
        if rel.many_to_many
    }


def test_the_message_counts_every_referrer_and_names_the_first():
    party = PartyFactory(name="Sam Altman")
    events = [LinkedEventFactory(parties=[party]) for _ in range(12)]
    claim = ClaimFactory(title="Breach of contract")
    claim.against.set([party])
    claim.asserted_by.set([party])  # two links from one claim: counted once

    with pytest.raises(ProtectedError) as caught:
        party.delete()

    message = caught.value.args[0]
    first = Event.objects.filter(pk__in=[e.pk for e in events]).first()
    assert message == (
        f"Party “Sam Altman” is still referred to by 12 events (first: {first}) and "
        "1 claim (first: Breach of contract). Remove those references first, then "
        "delete it."
    )
    assert len(caught.value.protected_objects) == 10 + 1  # the first ten, one claim


def test_a_bulk_delete_with_one_referenced_row_deletes_nothing():
    free, held = PartyFactory(), PartyFactory(name="Held Party")
    LinkedEventFactory(parties=[held])

    with pytest.raises(ProtectedError, match="Party “Held Party” is still"):
        Party.objects.filter(pk__in=[free.pk, held.pk]).delete()

    assert Party.objects.filter(pk__in=[free.pk, held.pk]).count() == 2


def test_news_coverage_proxy_is_guarded():
    coverage = NewsCoverageFactory()
    CitationFactory(source=coverage, event__case=coverage.case)

    with pytest.raises(ProtectedError):
        NewsCoverage.objects.filter(pk=coverage.pk).delete()
    with pytest.raises(ProtectedError):
        NewsCoverage.objects.get(pk=coverage.pk).delete()


def test_unreferenced_rows_delete_with_their_own_parts():
    """A claim's status history and citations, a party's own source links, are the
    row's parts, not references to it: they go with it."""
    case = CaseFactory()
    party = PartyFactory()
    source = SourceFactory(case=case)
    party.sources.set([source])
    claim = ClaimFactory(case=case)
    claim.asserted_by.set([party])
    ClaimStatusChangeFactory(claim=claim)
    CitationFactory(event=None, claim=claim, source=source)

    claim.delete()
    party.delete()
    Source.objects.filter(pk=source.pk).delete()

    assert not Claim.objects.exists()
    assert not Party.objects.exists()
    assert not Source.objects.exists()


# The admin


def admin_url(model, view: str, *args) -> str:
    return reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args
    )


PROTECTED_PAGE = "would require deleting the following protected related objects"


@pytest.mark.parametrize(
    "make",
    [party_in_event, party_with_role, claim_in_event, source_of_party],
    ids=["party-m2m", "party-fk", "claim-m2m", "source-m2m"],
)
def test_admin_delete_page_lists_the_referrers_and_refuses(staff_client, make):
    obj, _, detail = make()
    model = type(obj)
    url = admin_url(model, "delete", obj.pk)

    page = staff_client.get(url).content.decode()
    staff_client.post(url, {"post": "yes"})

    assert PROTECTED_PAGE in page
    assert "still refers to" in page
    if detail:
        assert detail in page
    assert model.objects.filter(pk=obj.pk).exists()


def test_admin_delete_page_links_each_referrer_and_counts_the_rest(staff_client):
    party = PartyFactory(name="Sam Altman")
    events = [LinkedEventFactory(parties=[party]) for _ in range(12)]

    page = staff_client.get(admin_url(Party, "delete", party.pk)).content.decode()

    assert "12 events still refer to party “Sam Altman”:" in page
    first = Event.objects.filter(pk__in=[e.pk for e in events]).first()
    assert f'href="{admin_url(Event, "change", first.pk)}"' in page
    assert "… and 2 more events" in page


def test_admin_bulk_delete_action_refuses_and_deletes_nothing(staff_client):
    free, held = PartyFactory(), PartyFactory(name="Held Party")
    CasePartyFactory(role="counsel").represents.set([held])
    data = {"action": "delete_selected", "_selected_action": [free.pk, held.pk]}

    page = staff_client.post(admin_url(Party, "changelist"), data).content.decode()
    staff_client.post(admin_url(Party, "changelist"), {**data, "post": "yes"})

    assert PROTECTED_PAGE in page
    assert "1 party role still refers to party “Held Party”:" in page
    assert Party.objects.filter(pk__in=[free.pk, held.pk]).count() == 2
    assert CaseParty.objects.get(role="counsel").represents.get() == held


def test_admin_deletes_an_unreferenced_party_and_news_item(staff_client):
    party, coverage = PartyFactory(), NewsCoverageFactory()

    response = staff_client.post(admin_url(Party, "delete", party.pk), {"post": "yes"})
    staff_client.post(
        admin_url(NewsCoverage, "changelist"),
        {"action": "delete_selected", "_selected_action": [coverage.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Party.objects.exists()
    assert not Source.objects.exists()


def test_a_case_with_events_is_refused_by_kind_without_listing_every_event(
    staff_client,
):
    """Django's collector would list each protected event (88 s and 157 MB of HTML
    for a case of a million): the page counts each kind and links the first few,
    in as many statements for many events as for few."""

    def delete_page(events: int) -> tuple[str, int]:
        case = CaseFactory(title=f"Case of {events}")
        EventFactory.create_batch(events, case=case)
        SourceFactory(case=case)
        with QueryCounter() as counter:
            page = staff_client.get(admin_url(Case, "delete", case.pk)).text
        staff_client.post(admin_url(Case, "delete", case.pk), {"post": "yes"})
        assert Case.objects.filter(pk=case.pk).exists()
        return page, counter.count

    few, few_statements = delete_page(12)
    many, many_statements = delete_page(30)

    assert PROTECTED_PAGE in many
    assert "30 events still refer to case “Case of 30”:" in many
    assert "1 source still refers to case “Case of 30”:" in many
    assert len(re.findall(r'href="/admin/casetracker/event/\d+/change/"', many)) == 10
    assert "… and 20 more events" in many
    assert "12 events still refer to case “Case of 12”:" in few
    assert few_statements == many_statements


def test_an_empty_case_is_deleted_from_the_admin_with_the_rows_kept_of_it(
    staff_client,
):
    """Its revision and counts by month are the database's own rows of it, not
    referrers."""
    case = CaseFactory()
    event = EventFactory(case=case)
    event.delete()  # leaves the case's revision row behind

    response = staff_client.post(admin_url(Case, "delete", case.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists()
