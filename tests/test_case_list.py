"""The list of cases, searched and filtered: a newsroom follows hundreds of cases."""

import re

import pytest
from django.urls import reverse

from casetracker.choices import CaseStatus
from casetracker.db import QueryCounter
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    EventFactory,
    PartyFactory,
    ProceedingFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("case_list")


def listed(response) -> list[str]:
    return re.findall(r'<h2><a href="/cases/[^"]+/">([^<]*)</a></h2>', response.text)


@pytest.fixture
def cases():
    """Three cases, each findable by something else."""
    musk = CaseFactory(title="Musk v. Altman", status=CaseStatus.DECIDED)
    ProceedingFactory(case=musk, court="N.D. Cal.", docket_number="4:24-cv-04722")
    CasePartyFactory(
        case=musk, party=PartyFactory(name="OpenAI", aliases="OpenAI Inc.")
    )
    authors = CaseFactory(title="Authors Guild v. OpenAI", status=CaseStatus.PENDING)
    ProceedingFactory(case=authors, court="S.D.N.Y.", docket_number="1:23-cv-08292")
    times = CaseFactory(title="Times v. Microsoft", status=CaseStatus.ON_APPEAL)
    ProceedingFactory(case=times, court="S.D.N.Y.", docket_number="1:23-cv-11195")
    CasePartyFactory(case=times, party=PartyFactory(name="Microsoft", aliases="MSFT"))
    return musk, authors, times


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("openai", ["Authors Guild v. OpenAI", "Musk v. Altman"]),  # title or party
        ("s.d.n.y.", ["Authors Guild v. OpenAI", "Times v. Microsoft"]),  # court
        ("04722", ["Musk v. Altman"]),  # docket number
        ("msft", ["Times v. Microsoft"]),  # a party's alias
        ("openai  SDNY", []),  # every word must match
        ("openai s.d.n.y.", ["Authors Guild v. OpenAI"]),
        ("", ["Authors Guild v. OpenAI", "Musk v. Altman", "Times v. Microsoft"]),
    ],
)
def test_search_finds_cases_by_title_court_docket_or_party(client, cases, q, expected):
    assert listed(client.get(LIST, {"q": q})) == expected


def test_status_filter_keeps_the_cases_of_the_statuses_ticked(client, cases):
    response = client.get(LIST, {"status": [CaseStatus.DECIDED, CaseStatus.ON_APPEAL]})

    assert listed(response) == ["Musk v. Altman", "Times v. Microsoft"]
    assert "2 cases match." in response.text
    assert re.search(r'value="on_appeal"[^>]* checked', response.text)


def test_search_and_status_together(client, cases):
    response = client.get(LIST, {"q": "s.d.n.y.", "status": CaseStatus.PENDING})

    assert listed(response) == ["Authors Guild v. OpenAI"]
    assert "1 case matches." in response.text


def test_no_match_says_so_and_keeps_the_form(client, cases):
    response = client.get(LIST, {"q": "Enron"})

    assert listed(response) == []
    assert "No case matches these filters." in response.text
    assert 'name="q" value="Enron"' in response.text
    assert "No cases yet" not in response.text


def test_an_unknown_status_or_an_overlong_search_is_explained_not_a_500(client, cases):
    response = client.get(LIST, {"status": "bankrupt", "q": "x" * 201})

    assert response.status_code == 200
    assert "Unknown case status: bankrupt." in response.text
    assert "at most 200 characters" in response.text
    assert len(listed(response)) == 3  # the filters that could not be read are left out


def test_the_search_is_escaped_where_it_is_shown(client, cases):
    response = client.get(LIST, {"q": '"><script>alert(1)</script>'})

    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_filtered_pages_link_to_the_next_page_of_the_same_filter(client, monkeypatch):
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 2)
    for n in range(5):
        CaseFactory(title=f"Case {n} v. Acme", status=CaseStatus.PENDING)
    CaseFactory(title="Other v. Acme", status=CaseStatus.CLOSED)

    first = client.get(LIST, {"q": "acme", "status": CaseStatus.PENDING})
    third = client.get(LIST, {"q": "acme", "status": CaseStatus.PENDING, "page": 3})

    assert 'rel="next" href="?q=acme&amp;status=pending&amp;page=2"' in first.text
    assert listed(third) == ["Case 4 v. Acme"]
    assert "5 cases match." in third.text


def test_htmx_gets_the_results_alone(client, cases):
    response = client.get(LIST, {"q": "openai"}, headers={"HX-Request": "true"})

    assert response.text.lstrip().startswith('<div id="results">')
    assert "<html" not in response.text
    assert listed(response) == ["Authors Guild v. OpenAI", "Musk v. Altman"]
    assert "HX-Request" in response["Vary"]


def test_a_search_reads_as_many_queries_for_many_cases_as_for_few(client):
    def searched() -> tuple[int, int]:
        with QueryCounter() as counter:
            response = client.get(LIST, {"q": "acme", "status": CaseStatus.PENDING})
        return len(listed(response)), counter.count

    def add(cases: int) -> None:
        for _ in range(cases):
            case = CaseFactory(title="Acme v. Widget")
            ProceedingFactory(case=case)
            EventFactory(case=case)

    add(2)
    few = searched()
    add(5)
    many = searched()

    assert (few[0], many[0]) == (2, 7)
    assert few[1] == many[1]
