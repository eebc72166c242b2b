"""Public pages: every URL of the demo case answers, unknown slugs are 404s, and a
page's query count does not grow with the case."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casetracker import selectors
from casetracker.choices import COVERAGE_KINDS
from casetracker.db import QueryCounter
from casetracker.keyset import Cursor
from casetracker.models import Case, CaseParty, Claim, Event
from casetracker.services import case_data_path, case_data_read, case_load
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


@pytest.fixture
def demo_case(db) -> Case:
    case, _ = case_load(data=case_data_read(case_data_path("musk-v-openai")))
    return case


def test_every_public_page_of_the_demo_case_answers(client, demo_case):
    for url in page_urls(demo_case):
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
        reverse("case_timeline", kwargs={"case": case.slug})
        + f"?party={role.party.slug}&claim={claim.slug}&kind=filing&q=event&from=2024",
        reverse("case_timeline", kwargs={"case": case.slug})
        + "?layout=lanes&lanes=claim",
        # A deep page, by cursor: the one after the first event.
        reverse("case_timeline", kwargs={"case": case.slug})
        + f"?after={Cursor.of(event)}",
        reverse("case_timeline", kwargs={"case": case.slug})
        + f"?before={Cursor.of(Event.objects.filter(case=case).last())}",
        reverse("case_testimony", kwargs={"case": case.slug})
        + f"?witness={role.party.slug}",
    ]


def queries_of(client, url: str) -> int:
    """SQL statements one request runs."""
    with QueryCounter() as counter:
        assert client.get(url).status_code == 200
    return counter.count


@pytest.mark.django_db
def test_query_count_per_page_does_not_grow_with_the_case(client):
    case = CaseFactory()
    grow(case, 2)
    urls = page_urls(case)
    small = {url: queries_of(client, url) for url in urls}

    grow(case, 15)
    for url in urls:
        assert queries_of(client, url) == small[url], url
    assert min(small.values()) >= 2  # the counting works: every page reads the database


HX = {"HX-Request": "true"}


@pytest.fixture
def small_case(db) -> Case:
    case = CaseFactory(slug="small")
    grow(case, 30)
    return case


def timeline_url(case: Case) -> str:
    return reverse("case_timeline", kwargs={"case": case.slug})


def test_timeline_full_page_and_fragment(client, small_case):
    """A plain request gets the document; an htmx request only #timeline and the count."""
    full = client.get(timeline_url(small_case))
    fragment = client.get(timeline_url(small_case), {"kind": "filing"}, headers=HX)

    assert "<html" in full.text and 'id="timeline"' in full.text
    assert "<html" not in fragment.text
    assert 'id="timeline"' in fragment.text
    assert 'id="result-count" hx-swap-oob="innerHTML"' in fragment.text
    assert "HX-Request" in full["Vary"] and "HX-Request" in fragment["Vary"]
    # Boosted and history-restore requests get the whole page: caches must tell them apart.
    for header in ("HX-Boosted", "HX-History-Restore-Request", "HX-Target"):
        assert header in full["Vary"]


@pytest.mark.parametrize(
    "headers",
    [
        {**HX, "HX-History-Restore-Request": "true"},
        {**HX, "HX-Boosted": "true"},
    ],
    ids=["history-restore", "boosted"],
)
def test_history_restore_and_boosted_requests_get_the_whole_page(
    client, small_case, headers
):
    response = client.get(timeline_url(small_case), headers=headers)

    assert "<html" in response.text
    assert 'id="timeline"' in response.text


def test_fragment_pushes_a_clean_url(client, small_case):
    """Empty fields and defaults a submitted form sends are left out of the pushed URL."""
    params = {"q": "", "from": "", "kind": "filing", "layout": "list", "lanes": "party"}

    response = client.get(timeline_url(small_case), params, headers=HX)

    assert response["HX-Push-Url"] == timeline_url(small_case) + "?kind=filing"


def load_more_link(html: str) -> str:
    """The plain href of the page's "Load more events" link."""
    link = html.split('id="load-more"')[1].split('href="')[1].split('"')[0]
    return link.replace("&amp;", "&")


def test_load_more_returns_only_the_next_rows(client, small_case):
    first = client.get(timeline_url(small_case))
    link = load_more_link(first.text)
    more = client.get(link, headers={**HX, "HX-Target": "load-more"})

    assert first.text.count('<li class="event') == 25
    assert more.text.count('<li class="event') == 5
    assert 'id="timeline"' not in more.text
    assert 'id="load-more"' not in more.text  # the last page offers no more
    assert "HX-Target" in more["Vary"]


def test_plain_page_links_carry_the_filters_and_a_cursor(client, small_case):
    response = client.get(timeline_url(small_case), {"key": "1", "kind": "filing"})
    last_shown = response.context["page"].object_list[-1]

    assert load_more_link(response.text) == (
        f"{timeline_url(small_case)}?key=1&kind=filing&after={last_shown.date:%Y-%m-%d}"
        f".{last_shown.date_rank}.{last_shown.pk}"
    )


def test_the_next_page_follows_the_cursor_and_links_back(client, small_case):
    first = client.get(timeline_url(small_case))
    second = client.get(load_more_link(first.text))

    shown = [e.pk for e in first.context["page"]] + [
        e.pk for e in second.context["page"]
    ]
    assert shown == list(
        Event.objects.filter(case=small_case)
        .chronological()
        .values_list("pk", flat=True)
    )
    assert "← Earlier events" in second.text
    assert "30 of 30 events; showing 5 from" in second.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2024-13"}, "from", "There is no month 13"),
        ({"to": "2024-02-30"}, "to", "February 2024 has no day 30"),
        ({"from": "yesterday"}, "from", "Enter a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"party": "nobody"}, "party", "Unknown party: nobody"),
        ({"claim": "nothing"}, "claim", "Unknown claim: nothing"),
        ({"kind": "picnic"}, "kind", "Unknown kind of event: picnic"),
        ({"confidence": "sure"}, "confidence", "Unknown confidence label: sure"),
        ({"layout": "grid"}, "layout", "Unknown layout: grid"),
        ({"from": "2025", "to": "2024"}, "to", "is before"),
    ],
)
def test_invalid_filters_show_a_message_next_to_the_field(
    client, small_case, params, field, message
):
    for headers in ({}, HX):
        response = client.get(timeline_url(small_case), params, headers=headers)
        assert response.status_code == 200
        error_list = response.text.split(f'id="id_{field}_error"')[1].split("</ul>")[0]
        assert message in error_list


def test_invalid_filter_is_left_out_and_the_valid_ones_apply(client, small_case):
    response = client.get(
        timeline_url(small_case), {"from": "2024-13", "kind": "ruling"}, headers=HX
    )

    assert response.status_code == 200
    assert (
        response.text.count('<li class="event') == 0
    )  # the factory events are filings
    assert "There is no month 13" in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "A page number is a whole number"),
        ({"page": "0"}, "Pages are numbered from 1"),
        ({"page": "-1"}, "Pages are numbered from 1"),
        ({"page": "99999999"}, "There are not that many pages"),
        ({"after": "yesterday"}, "This link to a page of events is damaged"),
        ({"before": "2024-02-30.2.1"}, "names a day that does not exist"),
    ],
)
def test_bad_page_positions_fall_back_to_the_first_page_and_say_so(
    client, small_case, params, message
):
    response = client.get(timeline_url(small_case), params)

    assert response.status_code == 200
    assert message in response.text
    assert response.context["page"].start == 1


def test_a_page_past_the_end_is_empty_and_links_back(client, small_case):
    response = client.get(timeline_url(small_case), {"page": "9999"})

    assert response.status_code == 200
    assert "No more events here" in response.text
    assert "Back to the first page" in response.text


def test_lanes_layout_draws_the_same_filtered_events(client, small_case):
    response = client.get(timeline_url(small_case), {"layout": "lanes", "key": "1"})

    assert 'class="lanes-svg"' in response.text
    assert response.text.count("<circle") == 25  # one page of events, one lane each


def test_event_fragment_is_the_card_only(client, small_case):
    event = Event.objects.filter(case=small_case).first()

    card = client.get(event.get_absolute_url(), headers=HX)
    page = client.get(event.get_absolute_url())

    assert "<html" not in card.text and 'class="event-card"' in card.text
    assert "<h5>Sources</h5>" in card.text
    assert "<html" in page.text and "<h2>Sources</h2>" in page.text
    assert "HX-Request" in card["Vary"]


@pytest.mark.parametrize("name", ["case_testimony", "case_coverage"])
def test_list_pages_answer_fragments_and_report_bad_filters(client, small_case, name):
    url = reverse(name, kwargs={"case": small_case.slug})

    fragment = client.get(
        url, {"reliability": "shaky", "witness": "nobody"}, headers=HX
    )

    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="results"' in fragment.text
    assert "Unknown" in fragment.text


@pytest.mark.django_db
def test_testimony_filters_by_witness_and_kind(client):
    case = CaseFactory()
    musk, other = CasePartyFactory(case=case).party, CasePartyFactory(case=case).party
    TestimonyFactory(case=case, witness=musk, text="Said by the first.", kind="trial")
    TestimonyFactory(
        case=case, witness=other, text="Said by the second.", kind="deposition"
    )
    url = reverse("case_testimony", kwargs={"case": case.slug})

    by_witness = client.get(url, {"witness": musk.slug})
    by_kind = client.get(url, {"kind": "deposition"})

    assert "Said by the first." in by_witness.text
    assert "Said by the second." not in by_witness.text
    assert "Said by the second." in by_kind.text
    assert "Said by the first." not in by_kind.text


@pytest.mark.django_db
def test_coverage_filters_by_outlet_read_or_original_and_reliability(client):
    case = CaseFactory()
    wire = SourceFactory(
        case=case,
        outlet="Mirror site",
        original_outlet="Big Wire",
        headline="Wire story",
    )
    blog = SourceFactory(
        case=case, outlet="Small Blog", reliability="low", headline="Blog post"
    )
    url = reverse("case_coverage", kwargs={"case": case.slug})

    by_original = client.get(url, {"outlet": "Big Wire"})
    by_grade = client.get(url, {"reliability": "low"})

    assert wire.headline in by_original.text and blog.headline not in by_original.text
    assert blog.headline in by_grade.text and wire.headline not in by_grade.text


@pytest.mark.django_db
def test_not_found_page_is_in_the_site_design(client):
    response = client.get("/cases/no-such-case/")

    assert response.status_code == 404
    assert "site.css" in response.text
    assert "There is no page at this address" in response.text


@pytest.mark.django_db
def test_anonymous_readers_get_no_cookies(client, small_case):
    for url in page_urls(small_case):
        assert client.get(url).cookies == {}, url


@pytest.mark.django_db
def test_party_and_claim_pages_stop_at_a_page_and_link_to_the_timeline(client):
    case = CaseFactory(slug="long")
    role = CasePartyFactory(case=case)
    claim = ClaimFactory(case=case)
    for _ in range(30):
        event = EventFactory(case=case, is_key=True)
        event.parties.add(role.party)
        event.claims.add(claim)

    for url, link in (
        (role.get_absolute_url(), f"/cases/long/timeline/?party={role.party.slug}"),
        (claim.get_absolute_url(), f"/cases/long/timeline/?claim={claim.slug}"),
        (case.get_absolute_url(), "/cases/long/timeline/?key=1"),
    ):
        response = client.get(url)
        assert response.text.count('<li class="event') == 25, url
        assert f'href="{link}"' in response.text


@pytest.mark.django_db
def test_testimony_and_coverage_pages_are_paged(client):
    case = CaseFactory(slug="paged")
    witness = CasePartyFactory(case=case).party
    for n in range(55):
        TestimonyFactory(case=case, witness=witness, text=f"Statement {n}.")
        SourceFactory(case=case, headline=f"Headline {n}")

    for name in ("case_testimony", "case_coverage"):
        url = reverse(name, kwargs={"case": case.slug})
        first = client.get(url)
        assert "55 " in first.text and "Page 1 of 2" in first.text
        last_shown = re.findall(r' id="(?:source|testimony)-(\d+)"', first.text)[-1]
        assert pager_link(first.text, "next") == f"?page=2&after={last_shown}"
        second = client.get(url + pager_link(first.text, "next"))
        assert "Page 2 of 2" in second.text
        assert pager_link(second.text, "prev") == "?page=1"
        assert "Page 2 of 2" in client.get(url, {"page": 2}).text


def pager_link(page: str, rel: str) -> str | None:
    """The query of a list page's "Next" (rel="next") or "Previous" link."""
    match = re.search(rf'<a rel="{rel}" href="([^"]*)"', page)
    return html.unescape(match[1]) if match else None


def listed_pages(client, name: str, case, pattern: str) -> list[str]:
    """What `pattern` finds on each page of a list, first page to last: following
    its "Next" links, following its "Previous" links back from the last page, and
    by page number alone. The three must agree."""
    url = reverse(name, kwargs={"case": case.slug})
    pages, query = [], ""
    while query is not None:
        page = client.get(url + query).text
        pages.append(re.findall(pattern, page))
        query = pager_link(page, "next")
    back, query = [], f"?page={len(pages)}"
    while query is not None:
        page = client.get(url + query).text
        back.insert(0, re.findall(pattern, page))
        query = pager_link(page, "prev")
    by_number = [
        re.findall(pattern, client.get(url, {"page": n}).text)
        for n in range(1, len(pages) + 1)
    ]
    assert back == pages and by_number == pages
    return [found for page in pages for found in page]


@pytest.mark.django_db
def test_coverage_lists_each_item_once_newest_first_undated_last(client, monkeypatch):
    """The pages read their rows by key from the list's index; together they hold
    every press item once, by date (newest first), undated ones last, items of one
    day by key."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 4)
    case = CaseFactory()
    days = [dt.date(2025, 3, 5), dt.date(2024, 1, 2), None, dt.date(2025, 3, 5)]
    items = [
        SourceFactory(case=case, published_on=days[n % 4], key=f"K{(n * 7) % 13:02d}")
        for n in range(13)
    ]
    items.append(SourceFactory(case=case, published_on=None, key=""))
    SourceFactory(case=case, kind="filing", headline="Not press")

    listed = listed_pages(client, "case_coverage", case, r'<li id="source-(\d+)">')

    def newest_first(item):
        dated = item.published_on is not None
        return (not dated, -item.published_on.toordinal() if dated else 0, item.key)

    assert listed == [str(item.pk) for item in sorted(items, key=newest_first)]


@pytest.mark.django_db
def test_testimony_lists_each_excerpt_once_in_date_order(client, monkeypatch):
    """By date, undated last on both databases, each page read by key."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 4)
    case = CaseFactory()
    witness = CasePartyFactory(case=case).party
    days = [dt.date(2026, 4, 30), dt.date(2026, 4, 28), None, dt.date(2026, 4, 30)]
    excerpts = [
        TestimonyFactory(
            case=case, witness=witness, date=days[n % 4], text=f"Statement {n:02d}."
        )
        for n in range(13)
    ]

    listed = listed_pages(client, "case_testimony", case, r"Statement (\d\d)\.")

    def by_date_undated_last(excerpt):
        return (excerpt.date is None, excerpt.date or dt.date.min, excerpt.pk)

    in_order = sorted(excerpts, key=by_date_undated_last)
    assert listed == [excerpt.text[10:12] for excerpt in in_order]


@pytest.mark.django_db
def test_a_coverage_page_reads_its_keys_in_order_from_the_lists_index():
    """COVERAGE_ORDER is written alike in the query and the index, so either
    database reads a page's keys from the index in order, sorting nothing: "NULLS
    LAST" itself has no index both accept."""
    case = CaseFactory()
    SourceFactory.create_batch(3, case=case)
    keys = selectors.coverage_list(case=case, reliabilities=["high"])[3:6]

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a few rows: make it show what it can
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        plan = keys.values("pk").explain()
        assert "source_coverage_order" in plan and "Sort" not in plan
    else:
        plan = keys.values("pk").explain()
        assert "source_coverage_order" in plan and "TEMP B-TREE" not in plan


@pytest.mark.django_db
def test_the_outlets_a_coverage_list_offers_are_read_from_indexes_alone():
    """A seek per name, not a read of every press item of the case (2.7 ms for
    42,000 on SQLite; 35 ms before the indexes)."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL picks any index for a few rows; the bench measures it.")
    case = CaseFactory()
    SourceFactory(case=case, outlet="Wire", original_outlet="Agency")
    with QueryCounter() as queries:
        assert selectors.coverage_outlets(case=case) == ["Agency", "Wire"]

    plans = []
    with connection.cursor() as cursor:
        for sql, params in zip(queries.statements, queries.params, strict=True):
            if "outlet" in sql:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plans.append(" ".join(str(row) for row in cursor.fetchall()))

    # A statement per kind of press item and name; each steps through its index
    # from one name to the next.
    assert len(plans) == 2 * len(COVERAGE_KINDS)
    indexes = {
        "source_case_kind_outlet": "outlet",
        "source_case_kind_original": "original_outlet",
    }
    for index, column in indexes.items():
        stepping = f"COVERING INDEX {index} (case_id=? AND kind=? AND {column}>?)"
        assert sum(stepping in plan for plan in plans) == len(COVERAGE_KINDS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("case_coverage", "event_count"),
        ("case_testimony", '"casetracker_testimony"."text"'),
    ],
)
def test_a_list_page_reads_only_its_own_rows_by_key(client, monkeypatch, name, shown):
    """The page's rows, with their joins and counts, are read by key; only the keys
    are read past the rows skipped. Sliced as one query, each database joined and
    counted every skipped row."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 3)
    case = CaseFactory()
    for _ in range(8):
        SourceFactory(case=case)
        TestimonyFactory(case=case)
    url = reverse(name, kwargs={"case": case.slug})

    with QueryCounter() as queries:
        response = client.get(url, {"page": 2})

    assert response.status_code == 200
    rows = [sql for sql in queries.statements if shown in sql]
    assert len(rows) == 1
    assert " IN (SELECT " in rows[0]
    outer = rows[0].rsplit(")", 1)[1]  # what follows the keys' subquery
    assert "LIMIT" not in outer and "OFFSET" not in outer


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["case_testimony", "case_coverage"])
def test_a_list_page_runs_as_many_queries_for_many_rows_as_for_few(
    client, settings, name
):
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    counts = []
    for size in (2, 60):
        case = CaseFactory()
        for _ in range(size):
            event = EventFactory(case=case)
            source = SourceFactory(case=case, original_outlet="Wire")
            CitationFactory(event=event, source=source)
            TestimonyFactory(case=case, event=event, examined_by=PartyFactory())
        url = reverse(name, kwargs={"case": case.slug})
        first = re.findall(r' id="(?:source|testimony)-(\d+)"', client.get(url).text)
        for query in ("", "?page=2", f"?page=2&after={first[0]}"):
            client.get(url + query)
            with QueryCounter() as queries:
                assert client.get(url + query).status_code == 200
            counts.append(queries.count)

    assert counts[:3] == counts[3:]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["case_testimony", "case_coverage"])
@pytest.mark.parametrize(
    ("asked", "shown"),
    [("abc", 1), ("2.5", 1), ("", 1), ("0", 2), ("-3", 2), ("99999999999999999999", 2)],
)
def test_a_list_page_number_that_is_no_page_shows_the_nearest(
    client, monkeypatch, name, asked, shown
):
    """Not a 500: the first page for what is no number, else the last (Django's
    get_page)."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 2)
    case = CaseFactory()
    for _ in range(3):
        SourceFactory(case=case)
        TestimonyFactory(case=case)

    response = client.get(reverse(name, kwargs={"case": case.slug}), {"page": asked})

    assert response.status_code == 200
    assert f"Page {shown} of 2" in response.text


def big_list(name: str, size: int, *, per_page: int, monkeypatch):
    """A case with `size` rows in the list `name`, in pages of `per_page`; its URL
    and the keys of its rows in list order."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", per_page)
    case = CaseFactory()
    days = [dt.date(2025, 3, 5), None, dt.date(2024, 1, 2)]
    for n in range(size):
        SourceFactory(case=case, published_on=days[n % 3], key=f"K{(n * 7) % 100:03d}")
        TestimonyFactory(case=case, date=days[n % 3])
    items = (
        selectors.coverage_list(case=case)
        if name == "case_coverage"
        else selectors.testimony_list(case=case)
    )
    return reverse(name, kwargs={"case": case.slug}), [row.pk for row in items]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["case_testimony", "case_coverage"])
def test_a_list_page_after_a_row_seeks_from_it_without_offset(
    client, monkeypatch, name
):
    """A "Next" link names the row it follows: the page's keys are read by seeking
    from that row in the list's index, whatever its depth, not by counting past the
    rows before it."""
    url, keys = big_list(name, 12, per_page=3, monkeypatch=monkeypatch)

    with QueryCounter() as queries:
        page = client.get(url, {"page": 3, "after": keys[5]}).text

    shown = [int(pk) for pk in re.findall(r' id="(?:source|testimony)-(\d+)"', page)]
    assert shown == keys[6:9]
    assert "Page 3 of 4" in page
    assert not any("OFFSET" in sql for sql in queries.statements)
    assert pager_link(page, "next") == f"?page=4&after={keys[8]}"
    assert pager_link(page, "prev") == f"?page=2&before={keys[6]}"
    before = client.get(url, {"page": 2, "before": keys[6]}).text
    assert [
        int(pk) for pk in re.findall(r' id="(?:source|testimony)-(\d+)"', before)
    ] == (keys[3:6])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("case_coverage", "source_coverage_order"),
        ("case_testimony", "testimony_list_order"),
    ],
)
def test_each_seek_from_a_row_reads_the_lists_index_from_that_row(
    monkeypatch, name, index
):
    """One index seek per term of the order: equal on the terms before it, a range
    on it. (On PostgreSQL the order's first term is an integer so that it stays an
    index condition: "(date IS NULL) = false" it turns into "date IS NOT NULL",
    which no index of the condition seeks by; the bench's plans show it.)"""
    from casetracker.keyset import seek_keys

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL picks any index for a few rows; the bench measures it.")
    url, keys = big_list(name, 9, per_page=3, monkeypatch=monkeypatch)
    case = Case.objects.get(slug=url.split("/")[2])
    items = (
        selectors.coverage_list(case=case)
        if name == "case_coverage"
        else selectors.testimony_list(case=case)
    )
    dated = keys[1]  # a dated row with rows of its day and of later ones past it
    with QueryCounter() as queries:
        seek_keys(items, items.query.order_by, dated, size=3)
    sql, params = queries.statements[-1], queries.params[-1]  # the seeks

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    sought = re.findall(rf"USING (?:COVERING )?INDEX {index} \((.*?)\)", plan)
    assert len(sought) >= 3, plan
    assert all(seek.startswith("case_id=? AND <expr>") for seek in sought)
    assert all(">?" in seek or "<?" in seek for seek in sought), plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["case_testimony", "case_coverage"])
@pytest.mark.parametrize("cursor", ["after", "before"])
@pytest.mark.parametrize(
    "named", ["abc", "-1", "", "1.5", "99999999999999999999", "other case", "last"]
)
def test_a_list_link_naming_no_row_of_the_list_shows_the_page_by_number(
    client, monkeypatch, name, cursor, named
):
    """A damaged link, a row of another case or one that has gone, or nothing past
    the row named: the page its number says, never a 500."""
    url, keys = big_list(name, 6, per_page=2, monkeypatch=monkeypatch)
    _, other_keys = big_list(name, 1, per_page=2, monkeypatch=monkeypatch)
    value = {"other case": other_keys[0], "last": keys[-1]}.get(named, named)
    if cursor == "before" and named == "last":
        value = keys[0]  # nothing before the first row

    response = client.get(url, {"page": 2, cursor: value})

    assert response.status_code == 200
    shown = re.findall(r' id="(?:source|testimony)-(\d+)"', response.text)
    assert [int(pk) for pk in shown] == keys[2:4]
    assert "Page 2 of 3" in response.text


@pytest.mark.django_db
def test_witnesses_and_outlets_are_listed_once_per_revision_of_the_case(
    client, settings
):
    """Finding them reads every excerpt or press item of the case: they are kept
    until the case changes, and a change shows at the next request."""
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    case = CaseFactory()
    TestimonyFactory(case=case)
    SourceFactory(case=case, outlet="First Outlet")
    testimony = reverse("case_testimony", kwargs={"case": case.slug})
    coverage = reverse("case_coverage", kwargs={"case": case.slug})
    for url in (testimony, coverage):
        client.get(url)

    with QueryCounter() as again:
        client.get(testimony)
        client.get(coverage)
    TestimonyFactory(case=case, witness=PartyFactory(name="Later <witness>"))
    SourceFactory(case=case, original_outlet="Later Outlet")

    assert not [sql for sql in again.statements if "SELECT DISTINCT" in sql]
    assert "> Later &lt;witness&gt;</label>" in client.get(testimony).text
    assert 'value="Later Outlet"' in client.get(coverage).text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "factory", "noun", "other_filter"),
    [
        ("case_testimony", TestimonyFactory, "excerpt", {"kind": "deposition"}),
        ("case_coverage", SourceFactory, "item", {"reliability": "low"}),
    ],
)
def test_a_list_counts_its_rows_once_per_revision_of_the_case(
    client, settings, name, factory, noun, other_filter
):
    """Counting every row the filters allow (50,000 excerpts: 4 ms on PostgreSQL)
    is done once until the case changes, for each set of filters; a change shows at
    the next request."""
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    case = CaseFactory()
    factory.create_batch(3, case=case)
    url = reverse(name, kwargs={"case": case.slug})
    client.get(url)

    with QueryCounter() as again:
        kept = client.get(url)
    with QueryCounter() as filtered:
        client.get(url, other_filter)
    factory(case=case)
    changed = client.get(url)

    def counts(queries):
        return [sql for sql in queries.statements if sql.startswith("SELECT COUNT(*)")]

    assert f"3 {noun}s." in kept.text and not counts(again)
    assert len(counts(filtered)) == 1
    assert f"4 {noun}s." in changed.text


def test_filter_choices_show_what_is_chosen_and_what_is_wrong(client, small_case):
    """Each choice is an input named after its field; the chosen ones are checked, and
    a field with an unknown value marks every one of its inputs invalid."""
    party = CaseParty.objects.filter(case=small_case).first().party
    response = client.get(
        timeline_url(small_case),
        {"party": party.slug, "kind": "bogus", "layout": "lanes"},
    )
    html = response.text

    chosen = re.findall(
        r'<input type="checkbox" name="party" value="([^"]+)"[^>]* checked', html
    )
    assert chosen == [party.slug]
    assert re.search(
        r'<input type="radio" name="layout" value="lanes" id="[^"]+" checked>', html
    )
    kinds = re.findall(r'<input type="checkbox" name="kind"[^>]*>', html)
    assert kinds and all('aria-invalid="true"' in tag for tag in kinds)
    parties = re.findall(r'<input type="checkbox" name="party"[^>]*>', html)
    assert parties and not any("aria-invalid" in tag for tag in parties)
    assert f"> {party.name}</label>" in html


def test_a_page_reads_the_case_revision_with_the_case(client, small_case, settings):
    """Month counts, filter choices, a search's size and the page's validators (the
    ETag) are each kept or made per revision of the case: the revision read with the
    case, once a request, serves them all."""
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    party = CaseParty.objects.filter(case=small_case).first().party
    url = timeline_url(small_case) + f"?q=event&party={party.slug}&kind=filing"
    client.get(url)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)

    assert response.status_code == 200 and response.headers["ETag"]
    revision_reads = [
        q["sql"]
        for q in queries.captured_queries
        if '"casetracker_caserevision"' in q["sql"]
    ]
    assert len(revision_reads) == 1
    assert 'FROM "casetracker_case"' in revision_reads[0]


def test_filter_choices_are_read_once_per_revision_of_the_case(
    client, small_case, settings
):
    """The page lists every party and claim of the case: they are read once, then
    kept until the case changes, and a change shows at the next request."""
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    url = timeline_url(small_case)
    client.get(url)
    with CaptureQueriesContext(connection) as again:
        client.get(url)
    party = CaseParty.objects.filter(case=small_case).first().party
    party.name = "Renamed <party>"
    party.save()
    claim = ClaimFactory(case=small_case, title="A claim added later")

    after = client.get(url).text

    listed = [q["sql"] for q in again.captured_queries if "DISTINCT" in q["sql"]]
    assert not [sql for sql in listed if "casetracker_party" in sql]
    assert '<input type="checkbox" name="party"' in after
    assert "> Renamed &lt;party&gt;</label>" in after
    assert f'name="claim" value="{claim.slug}"' in after


@pytest.mark.django_db
def test_the_case_list_shows_a_page_of_cases_at_a_time(client, monkeypatch):
    """In title order, each case once, the next page linked: a newsroom's hundreds of
    cases never make one page."""
    from casetracker import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 3)
    titles = [f"Case {n:02d}" for n in range(7)]
    for title in reversed(titles):
        CaseFactory(title=title)

    pages = [client.get(reverse("case_list"), {"page": n}).text for n in (1, 2, 3)]

    shown = [re.findall(r"Case \d\d", page) for page in pages]
    assert shown == [titles[:3], titles[3:6], titles[6:]]
    assert 'rel="next" href="?page=2"' in pages[0]
    assert "Page 3 of 3" in pages[2] and 'rel="next"' not in pages[2]
    # A page that is not a number is the first; one past the end, the last.
    assert re.findall(r"Case \d\d", client.get("/?page=zzz").text) == titles[:3]
    assert re.findall(r"Case \d\d", client.get("/?page=99").text) == titles[6:]
