"""Property-based fuzzing of every public URL with Hypothesis.

Random and hostile query strings (every filter parameter, repeated, empty, 10,000
characters long, percent-encoded bytes that are not UTF-8, NUL bytes, SQL- and
HTML-like text, any Unicode) and random slugs must never give a server error:

- no 5xx (the test client re-raises a view's exception, so a crash fails loudly);
- a 400 is plain text that says which parameter was wrong;
- an HTML page never echoes an HTML payload unescaped; downloads stay well-formed;
- an unknown case, event, party or claim is a 404 in the site's design.

Each test builds a small case once (the `db` fixture runs once for all of a test's
examples, which is what is wanted here: the requests only read) and sends
FUZZ_EXAMPLES requests to each page that reads filters (default 40, plus the fixed
EDGES), a quarter as many to the others (`FUZZ_EXAMPLES=1000 pytest
tests/test_fuzz.py` for a long run).
"""

import datetime as dt
import json
import os
import re
import xml.dom.minidom
from urllib.parse import quote, quote_from_bytes

import icalendar
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from casetracker.choices import Confidence, EventKind, Reliability, TestimonyKind
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    LinkedEventFactory,
    NewsCoverageFactory,
    PartyFactory,
    TestimonyFactory,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a request's time varies with the machine's load
    # Function-scoped fixtures (db, client, the case) run once for all examples of a
    # test: intended, since every example only reads.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CASE = "fuzz-v-case"
PARTIES = ("sam-altman", "elon-musk")
CLAIMS = ("breach-of-contract",)
EVENT = "complaint-filed"

# Every parameter any public page reads, and some it does not.
PARAMS = (
    "q",
    "party",
    "claim",
    "kind",
    "from",
    "to",
    "key",
    "confidence",
    "layout",
    "lanes",
    "page",
    "after",
    "before",
    "witness",
    "outlet",
    "reliability",
    "bom",
    "format",
)

VALID = (
    *PARTIES,
    *CLAIMS,
    *EventKind.values,
    *Confidence.values,
    *Reliability.values,
    *TestimonyKind.values,
    "2024",
    "2024-03",
    "2024-03-01",
    "2024-3-1",
    "1",
    "0",
    "2",
    "list",
    "lanes",
    "party",
    "claim",
    "Reuters",
    "2024-03-01.2.51234",
    "2024-01-02.0.1",
    "9999-12-31.2.999999999999999999",
)
HOSTILE = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "2024\x00",
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE casetracker_event; --",
    "%",
    "_",
    "\\",
    "*",
    '"unclosed phrase',
    "NEAR(a b)",
    "title:x",
    "a OR b AND NOT c",
    "-",
    "()",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{ 7*7 }}",
    "{% debug %}",
    "0001",
    "0000",
    "9999",
    "9999-12",
    "9999-12-31",
    "0001-01-01",
    "10000",
    "2024-02-30",
    "2024-13",
    "2024-00-10",
    "-1",
    "1e9",
    "99999999999999999999999",
    "２０２４-０３-０１",
    "٢٠٢٤",
    "2024-03-01.9.1",
    "2024-02-30.2.1",
    "0001-01-01.0.0",
    "2024-03-01.2.-5",
    "2024-03-01.2.99999999999999999999",
    "\u202e",
    "\ufeff",
    "😀" * 50,
    "ǅ",
    "İ",
    "ß" * 20,
)
HUGE = ("x" * 10_000, "9" * 10_000, "2024-" * 2_000, "<script>alert(1)</script>" * 400)
# Pieces of query string written by hand: bad percent-encoding, raw bytes, no `=`.
RAW = (
    "%",
    "%Z",
    "%FF",
    "q=%FF%FE",
    "q=%C0%AF",
    "party=%ED%A0%80",
    "q=%00",
    "=",
    "&",
    ";",
    "q",
    "q==",
    "from",
    "to=\xff",
    "kind=%E2%80%AE",
    "page[]=1",
    "after=%25",
)

values = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(HUGE),
)
names = st.one_of(st.sampled_from(PARAMS), st.text(max_size=8))
encoded_pairs = st.tuples(
    names.map(lambda n: quote(n.encode("utf-8", "surrogatepass"), safe="")),
    values.map(lambda v: quote(v, safe="")),
).map("=".join)
byte_pairs = st.tuples(st.sampled_from(PARAMS), st.binary(max_size=12)).map(
    lambda pair: f"{pair[0]}={quote_from_bytes(pair[1], safe='')}"
)
query_strings = st.lists(
    st.one_of(encoded_pairs, encoded_pairs, byte_pairs, st.sampled_from(RAW)),
    max_size=12,
).map("&".join)

HTMX = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"HX-Request": st.just("true")},
        optional={
            "HX-Target": st.sampled_from(["timeline", "load-more", "results", "x"]),
            "HX-Boosted": st.just("true"),
            "HX-History-Restore-Request": st.just("true"),
            "HX-Current-URL": st.text(max_size=20),
        },
    ),
)

# Never in the site's own markup: if one shows up, a parameter was echoed unescaped.
PAYLOAD_MARKERS = ("<script>alert", "<img src=x", "<svg/onload")
FIELD_LINE = re.compile(r"^(q|party|claim|kind|from|to|key|confidence|layout|lanes): ")


@pytest.fixture
def fuzz_case(db):
    """A small case with a row behind every filter value in VALID."""
    case = CaseFactory(slug=CASE)
    altman = PartyFactory(slug=PARTIES[0], name="Sam Altman")
    musk = PartyFactory(slug=PARTIES[1], name="Elon Musk")
    CasePartyFactory(case=case, party=musk)
    CasePartyFactory(case=case, party=altman, role="defendant", side="defendants")
    claim = ClaimFactory(case=case, slug=CLAIMS[0], title="Breach of contract")
    claim.asserted_by.set([musk])
    claim.against.set([altman])
    day = dt.date(2024, 3, 1)
    for index, (precision, date) in enumerate(
        [("day", day), ("month", day), ("year", day.replace(month=1)), ("day", day)]
    ):
        event = LinkedEventFactory(
            case=case,
            slug=EVENT if index == 0 else f"event-{index}",
            date=date,
            date_precision=precision,
            kind=EventKind.values[index],
            is_key=index == 0,
            parties=[musk, altman][: index % 3],
            claims=[claim] if index % 2 else [],
        )
        CitationFactory(event=event, source__case=case, source__outlet="Reuters")
    ClaimStatusChangeFactory(claim=claim, event=event)
    TestimonyFactory(case=case, witness=musk, event=event, text="Partly.")
    NewsCoverageFactory(case=case, outlet="Reuters")
    return case


def filtered_urls() -> list[str]:
    """The pages and downloads that read filter parameters."""
    case = {"case": CASE}
    return [
        reverse("case_timeline", kwargs=case),
        reverse("case_timeline_csv", kwargs=case),
        reverse("case_timeline_json", kwargs=case),
        reverse("case_timeline_ics", kwargs=case),
        reverse("case_feed", kwargs=case),
        reverse("case_testimony", kwargs=case),
        reverse("case_coverage", kwargs=case),
    ]


def other_urls() -> list[str]:
    """The pages that read no parameter (the event page reads the htmx headers)."""
    case = {"case": CASE}
    return [
        "/",
        reverse("case_detail", kwargs=case),
        reverse("event_detail", kwargs={**case, "event": EVENT}),
        reverse("party_detail", kwargs={**case, "party": PARTIES[0]}),
        reverse("claim_detail", kwargs={**case, "claim": CLAIMS[0]}),
    ]


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def check_response(response, query: str) -> None:
    """The properties every answer to a fuzzed query string has."""
    status = response.status_code
    assert status < 500, (status, query)
    body = body_of(response)
    content_type = response.get("Content-Type", "")
    if status == 400:
        text = body.decode()
        assert content_type.startswith("text/plain"), (content_type, query)
        lines = text.strip().splitlines()
        assert len(lines) >= 2, (text, query)  # a heading, then what was wrong
        assert any(FIELD_LINE.match(line) or "“To”" in line for line in lines[1:]), (
            text,
            query,
        )
        return
    assert status == 200, (status, query)
    pushed = response.headers.get("HX-Push-Url")
    if pushed:  # the cleaned-up URL htmx puts in the address bar: no header injection
        assert pushed.startswith("/") and pushed.isascii() and pushed.isprintable()
    if content_type.startswith("text/html"):
        text = body.decode()
        for marker in PAYLOAD_MARKERS:
            assert marker not in text, (marker, query)
    elif content_type.startswith("application/json"):
        json.loads(body)
    elif content_type.startswith("text/calendar"):
        icalendar.Calendar.from_ical(body)
    elif "xml" in content_type:
        xml.dom.minidom.parseString(body)
    elif content_type.startswith("text/csv"):
        body.decode("utf-8-sig")


# Edge values every run tries, whatever Hypothesis draws.
EDGES = (
    "to=9999-12-31",
    "from=0001&to=9999",
    "from=9999-12-31&to=0001",
    "after=9999-12-31.2.999999999999999999",
    "before=0001-01-01.0.0",
    "after=2024-03-01.2.1&before=2024-03-01.2.1&page=2",
    "page=99999999999999999999",
    "q=a%00b&party=%00&claim=%00&from=2024%00&outlet=%00&witness=%00",
    "q=" + "x" * 10_000,
    "party=sam-altman&party=sam-altman&party=&kind=filing&kind=nope&layout=lanes&lanes=claim",
)


def with_edges(test):
    for query in EDGES:
        test = example(query=query, headers={})(test)
    return test


@pytest.mark.parametrize("url", filtered_urls())
@fuzz_settings
@given(query=query_strings, headers=HTMX)
@with_edges
def test_no_query_string_breaks_a_filtered_page(client, fuzz_case, url, query, headers):
    response = client.get(url, QUERY_STRING=query, headers=headers)
    event(f"HTTP {response.status_code}")  # see --hypothesis-show-statistics
    check_response(response, query)


@pytest.mark.parametrize("url", other_urls())
@settings(fuzz_settings, max_examples=max(10, EXAMPLES // 4))
@given(query=query_strings, headers=HTMX)
def test_no_query_string_breaks_another_page(client, fuzz_case, url, query, headers):
    response = client.get(url, QUERY_STRING=query, headers=headers)
    event(f"HTTP {response.status_code}")  # see --hypothesis-show-statistics
    check_response(response, query)


slugs = st.from_regex(r"[-a-zA-Z0-9_]{1,60}", fullmatch=True)


@fuzz_settings
@given(
    slug=slugs,
    where=st.sampled_from(
        [
            "/cases/{}/",
            "/cases/{}/timeline/",
            "/cases/{}/timeline.csv",
            "/cases/{}/feed/",
            "/cases/{}/testimony/",
            "/cases/{}/coverage/",
            f"/cases/{CASE}/events/{{}}/",
            f"/cases/{CASE}/parties/{{}}/",
            f"/cases/{CASE}/claims/{{}}/",
            "/cases/{}/events/" + EVENT + "/",
            "/cases/%FF{}/",
            "/{}/",
            "/cases/%s{}/",
        ]
    ),
)
def test_unknown_slugs_are_the_sites_404_page(client, fuzz_case, slug, where):
    known = {CASE, EVENT, *PARTIES, *CLAIMS}
    if slug in known:
        return
    response = client.get(where.format(slug))
    assert response.status_code == 404
    text = response.content.decode()
    assert 'class="site-header"' in text  # the site's design, not Django's plain page
    assert "<h1>Not found</h1>" in text


# Regression tests for what the fuzzing found (each a plain example).


@pytest.mark.parametrize(
    "url", [f"/cases/{CASE}/timeline/", f"/cases/{CASE}/timeline.csv"]
)
def test_too_many_parameters_get_a_400_that_says_so(client, fuzz_case, url):
    """Over DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) Django refuses the request. Its own
    400 page was a bare "Bad Request (400)": templates/400.html now explains it, in
    the site's design."""
    query = "&".join(f"kind=k{n}" for n in range(1_001))

    response = client.get(url, QUERY_STRING=query)

    assert response.status_code == 400
    text = response.content.decode()
    assert "too many parameters (more than 1,000)" in text
    assert 'class="site-header"' in text


def test_a_bad_host_gets_the_same_readable_400(client, fuzz_case):
    response = client.get(f"/cases/{CASE}/", headers={"host": "not-allowed.example"})

    assert response.status_code == 400
    assert "This address could not be read" in response.content.decode()
