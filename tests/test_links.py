"""Links built by casetracker.links: the very URL reverse() gives, without working the
route out again for each link."""

import pytest
from django.http import HttpResponse
from django.urls import (
    NoReverseMatch,
    clear_script_prefix,
    path,
    reverse,
    set_script_prefix,
    set_urlconf,
)
from django.urls.resolvers import URLResolver

from casetracker import exports, links
from casetracker.links import page_url, route_shape
from tests.factories import (
    CasePartyFactory,
    ClaimFactory,
    EventFactory,
    SourceFactory,
    TestimonyFactory,
)

ROUTES = {
    "case_list": (),
    "case_detail": ("case",),
    "case_timeline": ("case",),
    "case_timeline_csv": ("case",),
    "case_testimony": ("case",),
    "case_coverage": ("case",),
    "event_detail": ("case", "event"),
    "party_detail": ("case", "party"),
    "claim_detail": ("case", "claim"),
}
SLUGS = ["musk-v-openai", "a", "2024-03-01_ruling", "A-Z_09", "x" * 200]


def elsewhere(request):
    return HttpResponse()


# Another URLconf, as a request may choose (request.urlconf).
urlpatterns = [
    path("elsewhere/<slug:event>/in/<slug:case>/", elsewhere, name="event_detail"),
]


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("slug", SLUGS)
def test_page_url_is_what_reverse_gives(name, slug):
    slugs = {key: f"{slug}{index}" for index, key in enumerate(ROUTES[name])}
    assert page_url(name, **slugs) == reverse(name, kwargs=slugs)


@pytest.mark.parametrize(
    "value", ["ünïcode", "with space", "per%cent", "a.b", "", "zz0stand0in00zz"]
)
def test_values_that_are_not_plain_slugs_go_through_reverse(value):
    """reverse() refuses what the slug converter does not match, and page_url the
    same; the stand-in itself comes out as itself."""
    try:
        expected = reverse("event_detail", kwargs={"case": "c", "event": value})
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            page_url("event_detail", case="c", event=value)
    else:
        assert page_url("event_detail", case="c", event=value) == expected


def test_a_link_under_a_script_prefix_has_it():
    page_url("case_detail", case="first")  # the shape without a prefix is kept
    set_script_prefix("/tracker/")
    try:
        url = page_url("case_detail", case="musk-v-openai")
        assert url == "/tracker/cases/musk-v-openai/"
        assert url == reverse("case_detail", kwargs={"case": "musk-v-openai"})
    finally:
        clear_script_prefix()
    assert page_url("case_detail", case="musk-v-openai") == "/cases/musk-v-openai/"


def test_a_link_follows_the_requests_urlconf():
    set_urlconf(__name__)
    try:
        assert page_url("event_detail", case="c1", event="e2") == "/elsewhere/e2/in/c1/"
    finally:
        set_urlconf(None)
    assert page_url("event_detail", case="c1", event="e2") == "/cases/c1/events/e2/"


@pytest.fixture
def reverses(monkeypatch):
    """The routes reverse() works out from here on, no shape known yet."""
    links._shape.cache_clear()
    calls = []
    original = URLResolver._reverse_with_prefix

    def counted(self, lookup_view, *args, **kwargs):
        calls.append(lookup_view)
        return original(self, lookup_view, *args, **kwargs)

    monkeypatch.setattr(URLResolver, "_reverse_with_prefix", counted)
    return calls


def test_links_after_the_first_do_not_reverse(reverses):
    page_url("event_detail", case="first", event="one")
    assert reverses == ["event_detail"]
    urls = {page_url("event_detail", case="c", event=f"e{n}") for n in range(50)}
    assert len(urls) == 50
    assert reverses == ["event_detail"]
    with pytest.raises(NoReverseMatch):
        page_url("event_detail", case="c", event="not a slug")
    assert reverses == ["event_detail"] * 2


def test_route_shape_needs_the_keys_in_their_order():
    assert route_shape("event_detail", ("case", "event")) == (
        "/cases/",
        "/events/",
        "/",
    )
    with pytest.raises(ValueError, match="event_detail"):
        route_shape("event_detail", ("event", "case"))


def test_the_exports_permalinks_come_from_the_same_shape():
    before, middle, after = exports.permalink_parts("https://example.org")
    assert f"{before}c{middle}e{after}" == "https://example.org" + reverse(
        "event_detail", kwargs={"case": "c", "event": "e"}
    )


@pytest.mark.django_db
def test_the_models_links(reverses):
    event = EventFactory()
    case = event.case
    role = CasePartyFactory(case=case)
    claim = ClaimFactory(case=case)
    source = SourceFactory(case=case)
    testimony = TestimonyFactory(case=case, event=event)
    rows = [event, case, role, claim, source, testimony]
    links = [row.get_absolute_url() for row in rows]
    # Each route worked out once at most, whatever the number of links.
    assert [row.get_absolute_url() for row in rows] == links
    assert len(reverses) == len(set(reverses)) <= len(rows)
    assert links == [
        reverse("event_detail", kwargs={"case": case.slug, "event": event.slug}),
        reverse("case_detail", kwargs={"case": case.slug}),
        reverse("party_detail", kwargs={"case": case.slug, "party": role.party.slug}),
        reverse("claim_detail", kwargs={"case": case.slug, "claim": claim.slug}),
        reverse("case_coverage", kwargs={"case": case.slug}) + f"#source-{source.pk}",
        reverse("case_testimony", kwargs={"case": case.slug})
        + f"#testimony-{testimony.pk}",
    ]
