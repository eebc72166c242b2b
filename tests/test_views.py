"""Public pages: every URL of the demo case answers, unknown slugs are 404s, and a
page's query count does not grow with the case."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casetracker.models import Case, CaseParty, Claim, Event
from casetracker.services import case_data_path, case_data_read, case_load
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    TestimonyFactory,
)


@pytest.fixture
def demo_case(db) -> Case:
    case, _ = case_load(data=case_data_read(case_data_path("musk-v-openai")))
    return case


def demo_urls(case: Case) -> list[str]:
    event = Event.objects.filter(case=case).first()
    role = CaseParty.objects.filter(case=case).select_related("party").first()
    claim = Claim.objects.filter(case=case).first()
    return [
        reverse("case_list"),
        case.get_absolute_url(),
        reverse("case_timeline", kwargs={"case": case.slug}),
        event.get_absolute_url(),
        role.get_absolute_url(),
        claim.get_absolute_url(),
        reverse("case_testimony", kwargs={"case": case.slug}),
        reverse("case_coverage", kwargs={"case": case.slug}),
    ]


def test_every_public_page_of_the_demo_case_answers(client, demo_case):
    for url in demo_urls(demo_case):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in response.text  # only nonce-carrying external scripts
        assert "style=" not in response.text


def test_the_distillation_testimony_reads_as_reported(client, demo_case):
    event = Event.objects.get(case=demo_case, date="2026-04-30", kind="testimony")

    response = client.get(event.get_absolute_url())

    assert "Cross-examination: distillation admission" in response.text
    assert "Partly." in response.text
    assert "William Savitt" in response.text
    assert "30 April 2026" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/cases/no-such-case/",
        "/cases/no-such-case/timeline/",
        "/cases/musk-v-openai/events/no-such-event/",
        "/cases/musk-v-openai/parties/no-such-party/",
        "/cases/musk-v-openai/claims/no-such-claim/",
        "/cases/no-such-case/testimony/",
        "/cases/no-such-case/coverage/",
    ],
)
@pytest.mark.django_db
def test_unknown_slugs_are_not_found(client, url):
    CaseFactory(slug="musk-v-openai")
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_party_of_another_case_is_not_found_here(client):
    here, elsewhere = CaseFactory(), CaseFactory()
    role = CasePartyFactory(case=elsewhere)

    url = reverse("party_detail", kwargs={"case": here.slug, "party": role.party.slug})

    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_pages_answer_get_and_head_only(client):
    case = CaseFactory()
    assert client.head(case.get_absolute_url()).status_code == 200
    assert client.post(case.get_absolute_url()).status_code == 405


def grow(case: Case, n: int) -> None:
    """Add n events, each with parties, a source, testimony and a claim step."""
    for _ in range(n):
        event = EventFactory(case=case)
        role = CasePartyFactory(case=case)
        event.parties.add(role.party)
        CitationFactory(event=event)
        TestimonyFactory(case=case, event=event, witness=role.party)
        claim = ClaimFactory(case=case)
        claim.asserted_by.add(role.party)
        ClaimStatusChangeFactory(claim=claim, event=event)
        event.claims.add(claim)
        event.is_key = True
        event.save()


def page_urls(case: Case) -> list[str]:
    event = Event.objects.filter(case=case).first()
    role = CaseParty.objects.filter(case=case).first()
    claim = Claim.objects.filter(case=case).first()
    return [
        reverse("case_list"),
        case.get_absolute_url(),
        reverse("case_timeline", kwargs={"case": case.slug}),
        event.get_absolute_url(),
        role.get_absolute_url(),
        claim.get_absolute_url(),
        reverse("case_testimony", kwargs={"case": case.slug}),
        reverse("case_coverage", kwargs={"case": case.slug}),
    ]


@pytest.mark.django_db
def test_query_count_per_page_does_not_grow_with_the_case(client):
    case = CaseFactory()
    grow(case, 2)
    urls = page_urls(case)
    small = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        small[url] = len(queries)

    grow(case, 15)
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == small[url], url
