"""The admin at a big case's size: lists, pickers and the date drill-down read a
page, never every row (the figures are in docs/performance.md)."""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.db import connection
from django.db.models import Max, Min
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import resolve, reverse

from casetracker import admin as casetracker_admin
from casetracker import search
from casetracker.admin import SearchPaginator
from casetracker.db import QueryCounter
from casetracker.models import Event, Source
from casetracker.templatetags.admin_dates import SteppedDates, next_period
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    NewsCoverageFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    StaffFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db

EVENTS = reverse("admin:casetracker_event_changelist")


def listed_titles(response) -> list[str]:
    """The event titles in the changelist's rows, in order."""
    return re.findall(
        r'<th class="field-title"><a href="[^"]*">([^<]*)</a>', response.text
    )


def events_on(case, days: list[dt.date], **fields) -> list[Event]:
    return [EventFactory(case=case, date=day, **fields) for day in days]


# Lists


def test_event_list_reads_as_many_queries_for_many_events_as_for_few(staff_client):
    """The count of each row's sources is read for the rows shown, without a join
    and GROUP BY over every event and citation; the date drill-down reads one query
    per year shown, not per event."""
    few, many = CaseFactory(), CaseFactory()
    years = [dt.date(year, 3, 1) for year in (2019, 2021, 2024)]
    events_on(few, years)
    dates = [day + dt.timedelta(days=n) for day in years for n in range(15)]
    for event in events_on(many, dates):
        CitationFactory(event=event, source=SourceFactory(case=many))

    counts = []
    for case in (few, many):
        with QueryCounter() as queries:
            response = staff_client.get(EVENTS, {"case__id__exact": case.pk})
        assert response.status_code == 200
        assert not [sql for sql in queries.statements if "GROUP BY" in sql]
        counts.append(queries.count)

    assert counts[0] == counts[1] > 0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 7),
        ({"case": True}, 5),
        ({"case": True, "date__year": "2020"}, 4),
        ({"case": True, "date__year": "2020", "date__month": "2"}, 2),
        ({"date__year": "2020", "date__month": "12"}, 2),
        ({"case": True, "kind": "verdict"}, 2),  # counted on the events
        (
            {"case": True, "date__year": "2020", "date__month": "2", "date__day": "29"},
            1,
        ),
    ],
    ids=["all", "case", "year", "month", "month-every-case", "kind", "day"],
)
def test_event_list_numbers_its_rows_from_the_counts_by_month(
    staff_client, monkeypatch, params, expected
):
    """Filtered by no more than a case and a year or month, the list takes its
    number of rows from the counts by month, not from counting the events; its
    pages are the same."""
    monkeypatch.setattr(admin.site.get_model_admin(Event), "list_per_page", 2)
    case, other = CaseFactory(), CaseFactory()
    events_on(case, [dt.date(2019, 5, 5), dt.date(2020, 1, 1), dt.date(2020, 2, 1)])
    events_on(case, [dt.date(2020, 2, 29), dt.date(2020, 12, 31)], kind="verdict")
    events_on(other, [dt.date(2020, 12, 1), dt.date(2021, 1, 1)])
    if params.pop("case", False):
        params["case__id__exact"] = case.pk

    with QueryCounter() as queries:
        first = staff_client.get(EVENTS, params)
    pages = [first] + [
        staff_client.get(EVENTS, {**params, "p": n})
        for n in range(2, -(-expected // 2) + 1)
    ]

    assert re.search(rf"\b{expected} events?\b", first.text)
    titles = [title for page in pages for title in listed_titles(page)]
    assert len(titles) == len(set(titles)) == expected
    counting_events = [
        sql
        for sql in queries.statements
        if sql.startswith('SELECT COUNT(*) AS "__count" FROM "casetracker_event"')
    ]
    assert bool(counting_events) == ("kind" in params or "date__day" in params)


def test_event_list_shows_each_events_number_of_sources(staff_client):
    case = CaseFactory()
    cited, uncited = EventFactory(case=case), EventFactory(case=case)
    for source in SourceFactory.create_batch(3, case=case):
        CitationFactory(event=cited, source=source)

    page = staff_client.get(EVENTS, {"case__id__exact": case.pk}).text

    cells = re.findall(r'<td class="field-source_count">(\d+)</td>', page)
    rows = re.findall(
        r'<th class="field-title"><a href="/admin/casetracker/event/(\d+)/', page
    )
    assert dict(zip(map(int, rows), map(int, cells), strict=True)) == {
        cited.pk: 3,
        uncited.pk: 0,
    }


def test_coverage_list_counts_the_distinct_events_covered(staff_client):
    story = NewsCoverageFactory()
    first, second = EventFactory(case=story.case), EventFactory(case=story.case)
    CitationFactory(event=first, source=story, pin_cite="p. 1")
    CitationFactory(event=first, source=story, pin_cite="p. 2")
    CitationFactory(event=second, source=story)

    page = staff_client.get(reverse("admin:casetracker_newscoverage_changelist")).text

    assert re.findall(r'<td class="field-event_count">(\d+)</td>', page) == ["2"]


def test_case_page_offers_only_the_cases_own_proceedings_to_its_party_roles(
    staff_client,
):
    case = CaseFactory()
    own = ProceedingFactory(case=case, name="Own proceeding")
    ProceedingFactory(name="Another case's proceeding")
    CasePartyFactory(case=case, proceeding=own)

    page = staff_client.get(
        reverse("admin:casetracker_case_change", args=(case.pk,))
    ).text

    select = re.search(
        r'<select name="case_parties-0-proceeding".*?</select>', page, re.S
    ).group(0)
    assert "Own proceeding" in select
    assert "Another case" not in select


# Change pages: an inline's rows read their pickers together (admin_pickers.py)


def change_page_queries(client, model: str, pk: int) -> int:
    """Counted after a first request, which also fills the process's caches (the
    content types, say)."""
    url = reverse(f"admin:casetracker_{model}_change", args=(pk,))
    client.get(url)
    with QueryCounter() as queries:
        response = client.get(url)
    assert response.status_code == 200
    return queries.count


def case_with_roles(roles: int):
    case = CaseFactory()
    for _ in range(max(1, roles // 4)):
        proceeding = ProceedingFactory(case=case, judge=PartyFactory())
        proceeding.sources.set(SourceFactory.create_batch(2, case=case))
    proceeding = case.proceedings.first()
    for _ in range(roles):
        CasePartyFactory(case=case, proceeding=proceeding)
    return case


def test_case_page_reads_as_many_queries_for_many_party_roles_as_for_few(
    staff_client,
):
    """Each role's party picker read its chosen party, its title read it again and
    its proceeding select read every proceeding: 130 queries for 40 roles."""
    few, many = case_with_roles(1), case_with_roles(12)

    counts = [change_page_queries(staff_client, "case", c.pk) for c in (few, many)]

    assert counts[0] == counts[1] > 0


def test_event_page_reads_as_many_queries_for_many_excerpts_as_for_few(staff_client):
    few, many = EventFactory(), EventFactory()
    for event, size in ((few, 1), (many, 8)):
        for _ in range(size):
            TestimonyFactory(case=event.case, event=event, examined_by=PartyFactory())
            CitationFactory(event=event)

    counts = [change_page_queries(staff_client, "event", e.pk) for e in (few, many)]

    assert counts[0] == counts[1] > 0


def test_claim_page_reads_as_many_queries_for_many_status_changes_as_for_few(
    staff_client,
):
    few, many = ClaimFactory(), ClaimFactory()
    for claim, size in ((few, 1), (many, 8)):
        for _ in range(size):
            change = ClaimStatusChangeFactory(
                claim=claim, event=EventFactory(case=claim.case)
            )
            CitationFactory(
                event=None, claim=claim, source=SourceFactory(case=claim.case)
            )
            assert change.pk

    counts = [change_page_queries(staff_client, "claim", c.pk) for c in (few, many)]

    assert counts[0] == counts[1] > 0


def test_each_inline_row_shows_its_own_chosen_party_and_proceeding(staff_client):
    case = CaseFactory()
    first, second = ProceedingFactory(case=case), ProceedingFactory(case=case)
    roles = [
        CasePartyFactory(case=case, party=PartyFactory(name=name), proceeding=chosen)
        for name, chosen in (("Ada Quill", first), ("Basil Root", second))
    ]

    page = staff_client.get(
        reverse("admin:casetracker_case_change", args=(case.pk,))
    ).text

    # The rows come in the inline's order: by side, role, then party name.
    for index, role in enumerate(roles):
        party = re.search(
            rf'<select name="case_parties-{index}-party".*?</select>', page, re.S
        ).group(0)
        assert re.findall(r"<option [^>]*selected[^>]*>([^<]*)</option>", party) == [
            role.party.name
        ]
        assert f'value="{role.party.pk}"' in party
        proceeding = re.search(
            rf'<select name="case_parties-{index}-proceeding".*?</select>', page, re.S
        ).group(0)
        assert re.findall(r'<option value="(\d+)"[^>]*selected', proceeding) == [
            str(role.proceeding.pk)
        ]
        # Every row still offers each of the case's proceedings.
        assert str(first) in proceeding and str(second) in proceeding


@pytest.mark.parametrize("bad", ["abc", "99999999999999999999999", "-1", " "])
def test_a_tampered_picker_value_is_a_form_error_not_a_500(rf, bad):
    case = CaseFactory()
    role = CasePartyFactory(case=case)
    request = rf.get("/")
    request.user = StaffFactory()
    inline = casetracker_admin.CasePartyInline(type(case), admin.site)
    formset_class = inline.get_formset(request, case)
    prefix = formset_class.get_default_prefix()
    data = {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-0-id": str(role.pk),
        f"{prefix}-0-case": str(case.pk),
        f"{prefix}-0-party": bad,
        f"{prefix}-0-role": role.role,
        f"{prefix}-0-side": role.side,
    }

    formset = formset_class(data, instance=case, prefix=prefix)
    picker = str(formset.forms[0]["party"])

    assert not formset.is_valid()
    assert "party" in formset.forms[0].errors
    assert not re.findall(r"<option [^>]*selected", picker)


@pytest.mark.parametrize("bad", ["abc", "99999999999999999999999"])
def test_a_change_form_shows_a_tampered_picker_value_again_as_a_form_error(
    staff_client, bad
):
    """Django's own picker read the posted value as a key to show the form again
    with its error, and failed with a 500."""
    role = CasePartyFactory()
    url = reverse("admin:casetracker_caseparty_change", args=(role.pk,))

    response = staff_client.post(
        url, {"case": role.case.pk, "party": bad, "role": role.role, "side": role.side}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert response.context["adminform"].form.errors["party"]


def test_a_change_form_shows_a_tampered_many_picker_value_as_a_form_error(
    staff_client,
):
    role = CasePartyFactory()
    url = reverse("admin:casetracker_caseparty_change", args=(role.pk,))
    data = {"case": role.case.pk, "party": role.party.pk, "role": role.role}

    response = staff_client.post(url, {**data, "side": role.side, "sources": "abc"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sources"]


# Filters by a related row: the chosen case's rows only


def filtered_ids(page: str, parameter: str) -> set[int]:
    found = re.findall(rf"{parameter}=(\d+)", page)
    return {int(value) for value in found}


@pytest.mark.parametrize(
    ("listed", "parameter"),
    [
        ("testimony", "witness__id__exact"),
        ("event", "proceeding__id__exact"),
        ("claim", "proceeding__id__exact"),
    ],
)
def test_a_related_filter_lists_only_the_chosen_cases_rows(
    staff_client, listed, parameter
):
    """Every case's witnesses or proceedings made a newsroom's lists long (3,615
    witnesses: 452 KB); once a case is chosen, only its own are offered."""
    cases = CaseFactory.create_batch(2)
    own = {}
    for case in cases:
        # Two of each: Django shows no filter that has a single choice.
        proceedings = ProceedingFactory.create_batch(2, case=case)
        for proceeding in proceedings:
            event = EventFactory(case=case, proceeding=proceeding)
            ClaimFactory(case=case, proceeding=proceeding)
            TestimonyFactory(case=case, event=event)
        rows = (
            case.testimony.values_list("witness", flat=True)
            if listed == "testimony"
            else [proceeding.pk for proceeding in proceedings]
        )
        own[case.pk] = set(rows)
    url = reverse(f"admin:casetracker_{listed}_changelist")

    everything = staff_client.get(url).text
    chosen = staff_client.get(url, {"case__id__exact": cases[0].pk}).text

    assert filtered_ids(everything, parameter) == own[cases[0].pk] | own[cases[1].pk]
    assert filtered_ids(chosen, parameter) == own[cases[0].pk]


RELATED_FILTERS = [
    ("testimony", "witness"),
    ("event", "proceeding"),
    ("claim", "proceeding"),
]


def related_rows(listed: str, count: int) -> list:
    """`count` witnesses or proceedings, each of its own case, that a list names."""
    rows = []
    for _ in range(count):
        testimony = TestimonyFactory()
        proceeding = ProceedingFactory(case=testimony.case)
        EventFactory(case=testimony.case, proceeding=proceeding)
        ClaimFactory(case=testimony.case, proceeding=proceeding)
        rows.append(testimony.witness if listed == "testimony" else proceeding)
    return rows


def related_filter(response, field: str):
    (spec,) = [
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", None) == field
    ]
    return spec


@pytest.mark.parametrize(("listed", "field"), RELATED_FILTERS)
def test_with_no_case_chosen_too_many_related_rows_ask_for_a_case(
    staff_client, monkeypatch, listed, field
):
    """A newsroom's 3,615 witnesses made the unfiltered testimony list 372 KB;
    past a hundred rows the filter asks for a case instead."""
    monkeypatch.setattr(casetracker_admin, "UNSCOPED_CHOICES_MAX", 2)
    first, *_ = related_rows(listed, 3)
    url = reverse(f"admin:casetracker_{listed}_changelist")

    everything = staff_client.get(url)
    chosen = staff_client.get(url, {f"{field}__id__exact": first.pk})

    assert related_filter(everything, field).lookup_choices == []
    assert f"choose a case to filter by {field}" in everything.text
    assert related_filter(chosen, field).lookup_choices == [(first.pk, str(first))]
    assert f"choose a case to filter by {field}" in chosen.text


@pytest.mark.parametrize(("listed", "field"), RELATED_FILTERS)
def test_with_no_case_chosen_few_related_rows_are_all_listed(
    staff_client, monkeypatch, listed, field
):
    monkeypatch.setattr(casetracker_admin, "UNSCOPED_CHOICES_MAX", 3)
    rows = related_rows(listed, 3)
    url = reverse(f"admin:casetracker_{listed}_changelist")

    response = staff_client.get(url)

    listed_keys = {pk for pk, _ in related_filter(response, field).lookup_choices}
    assert listed_keys == {row.pk for row in rows}
    assert "choose a case to filter by" not in response.text


@pytest.mark.parametrize("bad", ["abc", "99999999999999999999999", "-1", "", "١"])
def test_a_filter_that_asks_for_a_case_takes_a_bad_value_as_the_list_does(
    staff_client, monkeypatch, bad
):
    monkeypatch.setattr(casetracker_admin, "UNSCOPED_CHOICES_MAX", 1)
    related_rows("testimony", 2)
    url = reverse("admin:casetracker_testimony_changelist")

    response = staff_client.get(url, {"witness__id__exact": bad})

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("bad", ["abc", "99999999999999999999999", "-1", ""])
def test_a_related_filter_takes_a_bad_case_as_the_list_does(staff_client, bad):
    TestimonyFactory()
    url = reverse("admin:casetracker_testimony_changelist")

    response = staff_client.get(url, {"case__id__exact": bad})

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


# Search and pickers: the full-text index, the last word also as a prefix


def test_event_search_matches_stemmed_words_through_the_full_text_index(staff_client):
    case = CaseFactory()
    EventFactory(case=case, title="Judge rules on the motion", summary="")
    EventFactory(case=case, title="Complaint filed", summary="")

    response = staff_client.get(EVENTS, {"q": "ruling"})

    assert listed_titles(response) == ["Judge rules on the motion"]


def test_event_search_matches_whole_words_only(staff_client):
    """A prefix would read the entries of every word it begins; the list's search
    is submitted, not typed into, so it needs none."""
    EventFactory(title="Deposition of the founder", summary="")

    assert listed_titles(staff_client.get(EVENTS, {"q": "depositions"})) == [
        "Deposition of the founder"
    ]
    assert listed_titles(staff_client.get(EVENTS, {"q": "depos"})) == []


def test_event_search_in_one_case_lists_only_that_cases_matches(staff_client):
    chosen, other = CaseFactory(), CaseFactory()
    EventFactory(case=chosen, title="Verdict read", summary="")
    EventFactory(case=other, title="Verdict appealed", summary="")

    response = staff_client.get(EVENTS, {"q": "verdict", "case__id__exact": chosen.pk})

    assert listed_titles(response) == ["Verdict read"]


def test_searched_event_list_keeps_the_timeline_order(staff_client):
    """On SQLite the page is read in the full-text index's order, which must be the
    list's own: date, precision (a year before its months and days), id."""
    case = CaseFactory()
    for day, precision, title in (
        (dt.date(2025, 3, 1), "day", "Verdict C"),
        (dt.date(2024, 1, 1), "year", "Verdict A"),
        (dt.date(2024, 1, 1), "day", "Verdict B"),
        (dt.date(2023, 6, 1), "month", "Verdict 0"),
    ):
        EventFactory(case=case, date=day, date_precision=precision, title=title)

    response = staff_client.get(EVENTS, {"q": "verdict"})

    assert listed_titles(response) == [
        "Verdict 0",
        "Verdict A",
        "Verdict B",
        "Verdict C",
    ]


def test_event_search_reads_a_quoted_phrase_as_a_phrase(staff_client):
    EventFactory(title="Motion to dismiss denied", summary="")
    EventFactory(title="Dismiss the motion", summary="")

    response = staff_client.get(EVENTS, {"q": '"motion to dismiss"'})

    assert listed_titles(response) == ["Motion to dismiss denied"]


@pytest.mark.parametrize("walk_min", [1, 10_000], ids=["walked", "sorted"])
def test_a_searched_page_is_the_same_however_it_is_read(
    staff_client, monkeypatch, walk_min
):
    """On PostgreSQL many matches are read by walking the events in order, few by
    sorting them (search.page_reading); both give the same page."""
    monkeypatch.setattr(search, "WALK_MIN_MATCHES", walk_min)
    case = CaseFactory()
    for day in (dt.date(2025, 1, 1), dt.date(2023, 1, 1), dt.date(2024, 1, 1)):
        EventFactory(case=case, date=day, title=f"Verdict {day.year}", summary="")
    EventFactory(case=case, title="Complaint filed", summary="")

    response = staff_client.get(EVENTS, {"q": "verdict", "case__id__exact": case.pk})

    assert listed_titles(response) == ["Verdict 2023", "Verdict 2024", "Verdict 2025"]


def test_page_reading_counts_the_matches_only_where_it_matters(monkeypatch):
    monkeypatch.setattr(search, "WALK_MIN_MATCHES", 2)
    EventFactory(title="Verdict read", summary="")
    EventFactory(title="Verdict appealed", summary="")
    expected = {"sqlite": (search.PAGE, search.PAGE)}.get(
        connection.vendor, (search.PAGE, search.EVERY)
    )

    assert (
        search.page_reading("verdict"),
        search.page_reading("appealed"),
    ) == expected


@pytest.mark.parametrize("matches", [3, 4])
def test_a_search_is_counted_up_to_the_cap_and_says_when_it_stops(
    staff_client, monkeypatch, matches
):
    """As the timeline: past the cap the list pages through the first matches and
    says more match; the count reads the matches' keys alone."""
    monkeypatch.setattr(SearchPaginator, "bound", 3)
    monkeypatch.setattr(admin.site.get_model_admin(Event), "list_per_page", 2)
    case = CaseFactory()
    for n in range(matches):
        event = EventFactory(case=case, title=f"Verdict {n}", summary="")
        CitationFactory(event=event, source=SourceFactory(case=case))

    with QueryCounter() as queries:
        first = staff_client.get(EVENTS, {"q": "verdict"})
    last = staff_client.get(EVENTS, {"q": "verdict", "p": 2})

    assert listed_titles(first) + listed_titles(last) == [
        f"Verdict {n}" for n in range(3)
    ]
    assert re.search(r"\b3 events\b", first.text)
    says = "More than 3 events match this search; the first 3 are listed."
    assert (says in first.text) == (matches > 3)
    counts = [sql for sql in queries.statements if sql.startswith("SELECT COUNT(*)")]
    assert counts and not [sql for sql in counts if "casetracker_citation" in sql]


# Deep pages: the keys by OFFSET, then the rows by key


@pytest.mark.parametrize(
    "params",
    [{}, {"o": "7.-2"}, {"kind__exact": "filing"}],
    ids=["timeline order", "by source count", "filtered"],
)
def test_an_admin_page_past_the_first_lists_the_rows_the_order_puts_there(
    staff_client, monkeypatch, params
):
    """The page reads its keys by OFFSET and its rows by key: the same rows, in
    the same order, as a page sliced in one query."""
    monkeypatch.setattr(admin.site.get_model_admin(Event), "list_per_page", 3)
    case = CaseFactory()
    for n in range(8):
        event = EventFactory(
            case=case, title=f"Entry {n}", date=dt.date(2024, 1, 8 - n)
        )
        for _ in range(n % 3):
            CitationFactory(event=event, source=SourceFactory(case=case))

    pages = [
        listed_titles(staff_client.get(EVENTS, {**params, "p": number}))
        for number in (1, 2, 3)
    ]

    changelist = admin.site.get_model_admin(Event).get_changelist_instance
    request = RequestFactory().get(EVENTS, params)
    request.user = StaffFactory()
    request.resolver_match = resolve(EVENTS)
    expected = [event.title for event in changelist(request).queryset]
    assert [title for page in pages for title in page] == expected
    assert all(len(page) == 3 for page in pages[:2])


def test_an_admin_page_past_the_first_reads_its_rows_by_key(staff_client, monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Event), "list_per_page", 2)
    case = CaseFactory()
    EventFactory.create_batch(5, case=case)

    with QueryCounter() as queries:
        response = staff_client.get(EVENTS, {"p": 2})

    assert response.status_code == 200
    rows = [sql for sql in queries.statements if "_source_count" in sql]
    assert len(rows) == 1 and " IN (SELECT " in rows[0]
    assert "OFFSET" not in rows[0].rsplit(")", 1)[1]


CITATIONS = reverse("admin:casetracker_citation_changelist")


@pytest.mark.parametrize("citations", [3, 4])
def test_the_citation_list_is_counted_up_to_the_cap_and_says_when_it_stops(
    staff_client, monkeypatch, citations
):
    monkeypatch.setattr(SearchPaginator, "bound", 3)
    case = CaseFactory()
    CitationFactory.create_batch(citations, event__case=case)

    response = staff_client.get(CITATIONS, {"source__case__id__exact": case.pk})

    says = "More than 3 citations match; the first 3 are listed."
    assert (says in response.text) == (citations > 3)
    assert re.search(r"\b3 citations\b", response.text)


def test_the_citation_list_joins_only_the_source_into_its_sort(staff_client):
    """What the other columns show is read for the page's rows alone: joined, it
    went into the sort of every citation of the case (0.9 s for 1.6 million)."""
    counts = []
    for size in (1, 12):
        case = CaseFactory()
        for _ in range(size):
            event = EventFactory(case=case)
            CitationFactory(event=event, source=SourceFactory(case=case))
            CitationFactory(
                event=None,
                testimony=TestimonyFactory(case=case),
                source=SourceFactory(case=case),
            )
        staff_client.get(CITATIONS, {"source__case__id__exact": case.pk})
        with QueryCounter() as queries:
            response = staff_client.get(CITATIONS, {"source__case__id__exact": case.pk})
        assert response.status_code == 200
        counts.append(queries.count)
        page = [
            sql
            for sql in queries.statements
            if sql.startswith('SELECT "casetracker_citation"."id"')
        ]
        assert len(page) == 1 and "LEFT OUTER JOIN" not in page[0]

    assert counts[0] == counts[1]


def named_in(page: str) -> list[str]:
    """The change links of the events a search names by slug or key."""
    return re.findall(r'is the slug or key of <a href="([^"]+)">', page)


def test_a_search_that_is_an_events_slug_or_key_links_to_it(staff_client):
    cases = CaseFactory.create_batch(2)
    same = [EventFactory(case=case, slug="ruling-on-motion") for case in cases]
    keyed = EventFactory(case=cases[1], key="C-0042", title="Filed <late>")

    everywhere = staff_client.get(EVENTS, {"q": "ruling-on-motion"}).text
    in_one = staff_client.get(
        EVENTS, {"q": " ruling-on-motion ", "case__id__exact": cases[0].pk}
    ).text
    by_key = staff_client.get(EVENTS, {"q": "C-0042"}).text

    def change(event):
        return reverse("admin:casetracker_event_change", args=(event.pk,))

    assert sorted(named_in(everywhere)) == sorted(change(event) for event in same)
    assert named_in(in_one) == [change(same[0])]
    assert named_in(by_key) == [change(keyed)]
    assert "Filed &lt;late&gt;" in by_key and "Filed <late>" not in by_key


@pytest.mark.parametrize(
    "q", ["ruling", "x" * 101, "<script>", "ruling-on-motion' OR 1=1", "\u00e9v"]
)
def test_a_search_that_names_no_event_says_nothing_of_it(staff_client, q):
    EventFactory(slug="ruling-on-motion", title="Ruling on the motion")

    response = staff_client.get(EVENTS, {"q": q})
    past_any_key = staff_client.get(EVENTS, {"q": q, "case__id__exact": "9" * 30})

    assert response.status_code == 200 and not named_in(response.text)
    assert past_any_key.status_code in (200, 302)  # Django's bad filter: ?e=1


def picked(client, term: str, page: int = 1) -> dict:
    return client.get(
        reverse("admin:autocomplete"),
        {
            "term": term,
            "page": page,
            "app_label": "casetracker",
            "model_name": "claimstatuschange",
            "field_name": "event",
        },
    ).json()


def test_event_picker_finds_events_as_their_title_is_typed(staff_client):
    wanted = EventFactory(title="Deposition of the founder", summary="")
    EventFactory(title="Founding documents", summary="")
    EventFactory(title="Verdict read", summary="")

    for typed in ("depos", "founder depo", "deposition", "depositions"):
        # A whole word still matches its stem ("deposition" is indexed as "deposit").
        found = [row["id"] for row in picked(staff_client, typed)["results"]]
        assert found == [str(wanted.pk)], typed


def test_event_picker_takes_no_prefix_shorter_than_three_letters(staff_client):
    verdict = EventFactory(title="Verdict read", summary="")

    assert picked(staff_client, "ve")["results"] == []
    assert [row["id"] for row in picked(staff_client, "ver")["results"]] == [
        str(verdict.pk)
    ]


def test_event_picker_says_whether_another_page_follows(staff_client):
    """Counted only one row past the page asked for, its answer is still exact."""
    case = CaseFactory()
    for n in range(41):
        EventFactory(case=case, title=f"Hearing {n}", summary="")

    first, second, third = (picked(staff_client, "hearing", n) for n in (1, 2, 3))

    assert [len(p["results"]) for p in (first, second, third)] == [20, 20, 1]
    assert [p["pagination"]["more"] for p in (first, second, third)] == [
        True,
        True,
        False,
    ]
    seen = [row["id"] for p in (first, second, third) for row in p["results"]]
    assert len(set(seen)) == 41


# The date drill-down, by index seeks


DAYS = [
    dt.date(2019, 12, 31),
    dt.date(2020, 1, 1),
    dt.date(2020, 1, 1),
    dt.date(2020, 1, 30),
    dt.date(2020, 2, 29),
    dt.date(2020, 12, 1),
    dt.date(2022, 6, 15),
]


@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_stepped_dates_are_the_databases_distinct_dates(kind):
    events_on(CaseFactory(), DAYS)
    events_on(CaseFactory(), [dt.date(2021, 3, 3)])
    rows = Event.objects.filter(case__events__isnull=False).distinct()

    for queryset in (Event.objects.all(), Event.objects.filter(date__year=2020), rows):
        assert SteppedDates(queryset).dates("date", kind) == list(
            queryset.dates("date", kind)
        )


def test_stepped_dates_first_and_last_are_the_minimum_and_maximum():
    events_on(CaseFactory(), DAYS)
    stepped = SteppedDates(Event.objects.all())

    assert stepped.aggregate(first=Min("date"), last=Max("date")) == {
        "first": dt.date(2019, 12, 31),
        "last": dt.date(2022, 6, 15),
    }
    empty = SteppedDates(Event.objects.none())
    assert empty.aggregate(first=Min("date"), last=Max("date")) == {
        "first": None,
        "last": None,
    }
    assert empty.dates("date", "year") == []


def test_stepped_dates_skip_empty_dates_and_stop_at_the_calendars_end():
    SourceFactory(published_on=None)
    SourceFactory(published_on=dt.date(9999, 12, 31))

    stepped = SteppedDates(Source.objects.all())

    for kind in ("year", "month"):
        assert len(stepped.dates("published_on", kind)) == 1
    assert stepped.dates("published_on", "day") == [dt.date(9999, 12, 31)]
    assert next_period(dt.date(9999, 12, 1), "month") is None


def drill_down_and_djangos(response) -> tuple[str, str]:
    """The list's drill-down as shown, and as Django's own would show it (reading
    every row) for the same list."""
    django = render_to_string(
        "admin/date_hierarchy.html", date_hierarchy(response.context["cl"])
    )
    return tuple(
        re.search(r'<nav class="toplinks".*?</nav>', html, re.S).group(0)
        for html in (response.text, django)
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"date__year": "2020"},
        {"date__year": "2020", "date__month": "1"},
        {"kind": "verdict"},
    ],
    ids=["years", "months", "days", "filtered"],
)
def test_event_list_drill_down_links_are_djangos_own(staff_client, params):
    """The drill-down shows the same choices as Django's, which reads every row."""
    case = CaseFactory()
    events_on(case, DAYS)
    EventFactory(case=case, date=dt.date(2018, 5, 5), kind="verdict")

    response = staff_client.get(EVENTS, params)

    nav, djangos = drill_down_and_djangos(response)
    assert nav == djangos
    assert "<a href=" in nav


@pytest.mark.parametrize(
    "params",
    [{"q": "verdict"}, {"q": "verdict", "date__year": "2020"}],
    ids=["years", "months"],
)
def test_searched_event_list_drill_down_links_are_djangos_own(staff_client, params):
    case = CaseFactory()
    for day in DAYS:
        EventFactory(case=case, date=day, title="Verdict read")
    EventFactory(case=case, date=dt.date(2021, 1, 1), title="Complaint filed")

    response = staff_client.get(EVENTS, params)

    nav, djangos = drill_down_and_djangos(response)
    assert nav == djangos
    assert "2021" not in nav


def test_searched_event_list_still_drills_down_by_date(staff_client):
    case = CaseFactory()
    EventFactory(case=case, title="Verdict read", date=dt.date(2026, 5, 18))
    EventFactory(case=case, title="Verdict appealed", date=dt.date(2027, 1, 5))
    EventFactory(case=case, title="Complaint filed", date=dt.date(2024, 2, 29))

    page = staff_client.get(EVENTS, {"q": "verdict"}).text

    nav = re.search(r'<nav class="toplinks".*?</nav>', page, re.S).group(0)
    assert "2026" in nav and "2027" in nav
    assert "2024" not in nav


def test_testimony_and_source_lists_drill_down_by_date(staff_client):
    TestimonyFactory(date=dt.date(2025, 4, 30))
    TestimonyFactory(date=None)
    SourceFactory(published_on=dt.date(2023, 7, 1))

    for name, year in (("testimony", "2025"), ("source", "2023")):
        page = staff_client.get(reverse(f"admin:casetracker_{name}_changelist")).text
        nav = re.search(r'<nav class="toplinks".*?</nav>', page, re.S).group(0)
        assert year in nav


# Deleting in bulk


def test_deleting_more_events_at_once_than_the_bound_is_refused(
    staff_client, monkeypatch
):
    """ "Select all" across a million events would have Django's action read and
    list every one and its links, and write a history row for each."""
    monkeypatch.setattr(casetracker_admin, "BULK_DELETE_MAX", 2)
    case = CaseFactory()
    events = EventFactory.create_batch(3, case=case)
    action = {
        "action": "delete_selected",
        "_selected_action": [e.pk for e in events],
        "select_across": "1",
        "index": "0",
    }

    refused = staff_client.post(EVENTS, {**action, "post": "yes"}, follow=True)

    assert "At most 2 events can be deleted at a time" in refused.text
    assert Event.objects.filter(case=case).count() == 3

    two = {
        **action,
        "_selected_action": [e.pk for e in events[:2]],
        "select_across": "0",
    }
    confirmation = staff_client.post(EVENTS, two)
    deleted = staff_client.post(EVENTS, {**two, "post": "yes"})

    assert "Are you sure you want to delete the selected events?" in confirmation.text
    assert deleted.status_code == 302
    assert list(Event.objects.filter(case=case)) == [events[2]]


# Bad input: the list again with Django's message, or a 404, never a 500


@pytest.mark.parametrize(
    "params",
    [
        {"date__year": "9" * 25},
        {"date__year": "9999"},  # its next year is past the calendar
        {"date__year": "2020", "date__month": "9" * 25},
        {"date__year": "2020", "date__month": "12", "date__day": "9" * 25},
    ],
    ids=["huge-year", "last-year", "huge-month", "huge-day"],
)
def test_a_drill_down_date_past_the_calendar_is_refused_as_a_bad_filter(
    staff_client, params
):
    for name in ("event", "testimony"):
        url = reverse(f"admin:casetracker_{name}_changelist")
        response = staff_client.get(url, params)
        assert response.status_code == 302, name
        assert response["Location"].endswith("?e=1")


def test_an_event_picker_page_past_any_count_is_a_404(staff_client):
    EventFactory(title="Verdict read", summary="")

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "verd",
            "page": "9" * 25,
            "app_label": "casetracker",
            "model_name": "claimstatuschange",
            "field_name": "event",
        },
    )

    assert response.status_code == 404


@pytest.mark.parametrize("filtered", [False, True])
def test_the_testimony_list_reads_its_order_from_an_index(staff_client, filtered):
    """By case, then by date with undated excerpts last. Written "date NULLS LAST",
    SQLite sorted every excerpt the list holds for each page (98 ms for 250,000)."""
    case = CaseFactory()
    undated = TestimonyFactory(case=case, date=None)
    later = TestimonyFactory(case=case, date=dt.date(2026, 5, 1))
    earlier = TestimonyFactory(case=case, date=dt.date(2026, 4, 1))
    url = reverse("admin:casetracker_testimony_changelist")

    with QueryCounter() as queries:
        response = staff_client.get(
            url, {"case__id__exact": case.pk} if filtered else {}
        )

    shown = [excerpt.pk for excerpt in response.context["cl"].result_list]
    assert shown == [earlier.pk, later.pk, undated.pk]
    if connection.vendor != "sqlite":
        return  # PostgreSQL picks any plan for a few rows; its index order is the same
    (rows,) = [
        (sql, params)
        for sql, params in zip(queries.statements, queries.params, strict=True)
        if "transcript_cite" in sql and "ORDER BY" in sql
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {rows[0]}", rows[1])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "testimony_list_order" in plan and "TEMP B-TREE" not in plan, plan
