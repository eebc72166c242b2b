"""Conditional requests: every public page answers ETag and Last-Modified from the case's
revision, a repeat with a matching validator is a cheap 304, and any change to the
case's data (from anywhere) makes the next request a full 200."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from casetracker import http
from casetracker.db import QueryCounter
from casetracker.models import (
    Case,
    CaseParty,
    CaseRevision,
    Claim,
    Event,
    Testimony,
)
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    ClaimFactory,
    EventFactory,
    NewsCoverageFactory,
    TestimonyFactory,
)

HX = {"HX-Request": "true", "HX-Target": "timeline"}


@pytest.fixture
def case(db) -> Case:
    case = CaseFactory(slug="etags")
    for _ in range(3):
        role = CasePartyFactory(case=case)
        event = EventFactory(case=case)
        event.parties.add(role.party)
        claim = ClaimFactory(case=case)
        event.claims.add(claim)
        TestimonyFactory(case=case, event=event, witness=role.party)
    NewsCoverageFactory(case=case)
    return case


def public_urls(case: Case) -> list[str]:
    """Every public page of the case, the case list and the downloads included."""
    slug = {"case": case.slug}
    event = Event.objects.filter(case=case).first()
    role = CaseParty.objects.filter(case=case).first()
    claim = Claim.objects.filter(case=case).first()
    return [
        reverse("case_list"),
        case.get_absolute_url(),
        reverse("case_timeline", kwargs=slug),
        reverse("case_timeline", kwargs=slug) + "?kind=filing",
        reverse("case_timeline_csv", kwargs=slug),
        reverse("case_timeline_json", kwargs=slug),
        reverse("case_timeline_ics", kwargs=slug),
        reverse("case_feed", kwargs=slug),
        event.get_absolute_url(),
        role.get_absolute_url(),
        claim.get_absolute_url(),
        reverse("case_testimony", kwargs=slug),
        reverse("case_coverage", kwargs=slug),
    ]


def timeline(case: Case) -> str:
    return reverse("case_timeline", kwargs={"case": case.slug})


@pytest.fixture
def settled(case):
    """The case last changed an hour ago, long enough for Last-Modified to be sent.

    The database's clock stamps the revision, so it is moved there, not with
    time_machine.
    """
    CaseRevision.objects.update(changed_at=timezone.now() - dt.timedelta(hours=1))


def test_every_public_page_answers_validators_and_a_304_on_repeat(client, case):
    for url in public_urls(case):
        first = client.get(url)
        assert first.status_code == 200, url
        assert first["ETag"].startswith('W/"'), url
        assert first["Cache-Control"] == "public, no-cache", url

        again = client.get(url, headers={"If-None-Match": first["ETag"]})

        assert again.status_code == 304, url
        assert again["ETag"] == first["ETag"], url
        assert again["Cache-Control"] == "public, no-cache", url
        assert again.content == b"", url


def test_a_304_costs_at_most_two_queries(client, case):
    for url in public_urls(case):
        etag = client.get(url)["ETag"]
        with QueryCounter() as counter:
            response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304, url
        assert counter.count <= 2, (url, counter.count)


def test_a_change_to_the_case_gives_a_new_etag_and_the_new_page(client, case):
    url = timeline(case)
    event = Event.objects.filter(case=case).first()
    before = client.get(url)

    event.title = "A title nobody has seen before"
    event.save()
    after = client.get(url, headers={"If-None-Match": before["ETag"]})

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert "A title nobody has seen before" in after.text
    assert client.get(url, headers={"If-None-Match": after["ETag"]}).status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        lambda case: CasePartyFactory(case=case),
        lambda case: Event.objects.filter(case=case).update(title="Bulk retitled"),
        lambda case: CaseParty.objects.filter(case=case).first().party.save(),
        lambda case: Testimony.objects.filter(case=case).first().delete(),
    ],
    ids=["new-row", "bulk-update", "shared-party", "delete"],
)
def test_every_kind_of_change_moves_every_page_of_the_case(client, case, change):
    urls = public_urls(case)[1:]
    etags = {url: client.get(url)["ETag"] for url in urls}

    change(case)

    for url in urls:
        response = client.get(url, headers={"If-None-Match": etags[url]})
        assert response.status_code in (200, 404), url
        assert response.get("ETag") != etags[url], url


def test_a_change_to_another_case_leaves_this_one_current(client, case):
    url = timeline(case)
    etag = client.get(url)["ETag"]

    EventFactory(case=CaseFactory())

    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_the_case_list_changes_with_any_case(client, case):
    url = reverse("case_list")
    etag = client.get(url)["ETag"]

    other = CaseFactory()
    second = client.get(url, headers={"If-None-Match": etag})
    assert second.status_code == 200
    assert other.short_name in second.text

    Event.objects.filter(case=case).update(title="Renamed")
    assert client.get(url, headers={"If-None-Match": second["ETag"]}).status_code == 200


def test_query_strings_and_htmx_headers_get_their_own_etags(client, case):
    url = timeline(case)
    etags = {
        client.get(url)["ETag"],
        client.get(url + "?kind=filing")["ETag"],
        client.get(url + "?kind=ruling")["ETag"],
        client.get(url + "?kind=filing&page=2")["ETag"],
        client.get(url + "?kind=filing", headers=HX)["ETag"],
        client.get(url + "?kind=filing", headers={**HX, "HX-Target": "load-more"})[
            "ETag"
        ],
        client.get(url + "?kind=filing", headers={**HX, "HX-Boosted": "true"})["ETag"],
    }
    assert len(etags) == 7

    # The page's ETag does not match the fragment's, and the reverse.
    page = client.get(url + "?kind=filing")
    fragment = client.get(url + "?kind=filing", headers=HX)
    assert (
        client.get(
            url + "?kind=filing", headers={**HX, "If-None-Match": page["ETag"]}
        ).status_code
        == 200
    )
    assert (
        client.get(url + "?kind=filing", headers={"If-None-Match": fragment["ETag"]})
    ).status_code == 200


def test_a_304_carries_the_vary_of_the_page_and_no_content_security_policy(
    client, case
):
    url = timeline(case)
    page = client.get(url)
    again = client.get(url, headers={"If-None-Match": page["ETag"]})

    assert "Content-Security-Policy" in page
    assert again["Vary"] == page["Vary"]
    assert {"HX-Request", "HX-Target"} <= set(page["Vary"].split(", "))
    # A cache merges a 304's headers into the page it holds; a new policy would carry
    # a nonce the held page's scripts do not have.
    assert "Content-Security-Policy" not in again


def test_last_modified_and_if_modified_since(client, case, settled):
    url = timeline(case)
    page = client.get(url)

    assert "Last-Modified" in page
    assert (
        client.get(
            url, headers={"If-Modified-Since": page["Last-Modified"]}
        ).status_code
        == 304
    )
    earlier = http_date((timezone.now() - dt.timedelta(days=365)).timestamp())
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200


def test_no_last_modified_until_the_change_has_settled(client, case):
    """Last-Modified has whole seconds: it waits until a second edit in the same second
    could no longer share the date, and meanwhile the ETag alone validates."""
    page = client.get(timeline(case))
    # A feed sets its own date (its newest entry's); it must not validate either.
    feed = client.get(reverse("case_feed", kwargs={"case": case.slug}))

    for response in (page, feed):
        assert "ETag" in response
        assert "Last-Modified" not in response


def test_an_edit_after_if_modified_since_gives_the_new_page(client, case, settled):
    url = timeline(case)
    page = client.get(url)

    Case.objects.filter(pk=case.pk).update(short_name="Retitled")
    response = client.get(url, headers={"If-Modified-Since": page["Last-Modified"]})

    assert response.status_code == 200
    assert "Retitled" in response.text


def test_the_feed_carries_the_case_revision_date_not_its_newest_entry(
    client, case, settled
):
    url = reverse("case_feed", kwargs={"case": case.slug})
    feed = client.get(url)
    changed_at = CaseRevision.objects.get(case=case).changed_at

    assert feed["Last-Modified"] == http_date(
        max(changed_at, http.code_version()[1]).timestamp()
    )


def test_errors_get_no_validators(client, case):
    missing = client.get("/cases/no-such-case/timeline/")
    missing_event = client.get(
        reverse("event_detail", kwargs={"case": case.slug, "event": "no-such-event"})
    )
    bad_filter = client.get(
        reverse("case_timeline_csv", kwargs={"case": case.slug}) + "?from=notadate"
    )

    for response in (missing, missing_event, bad_filter):
        assert response.status_code in (400, 404)
        assert "ETag" not in response
        assert "Last-Modified" not in response


def test_a_new_release_changes_every_etag(client, case, monkeypatch):
    url = timeline(case)
    etag = client.get(url)["ETag"]

    monkeypatch.setattr(
        http,
        "code_version",
        lambda: ("another-release", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    )

    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_code_version_is_stable_within_a_release():
    http.code_version.cache_clear()
    first = http.code_version()
    http.code_version.cache_clear()

    assert http.code_version() == first


def test_signed_in_editors_are_kept_out_of_shared_caches(db, staff_client, case):
    response = staff_client.get(timeline(case))

    assert response["Cache-Control"] == "private, no-cache"


def test_anonymous_revalidation_sets_no_cookie(client, case):
    url = timeline(case)
    etag = client.get(url)["ETag"]

    assert client.get(url, headers={"If-None-Match": etag}).cookies == {}


def test_post_is_still_refused(client, case):
    assert client.post(timeline(case)).status_code == 405


@pytest.mark.django_db
def test_health_check_answers_ok(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.text == "ok\n"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_check_fails_when_the_cache_does(client, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(http.default_cache, "set", broken)
    response = client.get(reverse("health"))

    assert response.status_code == 503
    assert "cache: ConnectionError" in response.text


# The rendered-page cache


def nonce_of(response) -> str:
    import re

    policy = response.headers["Content-Security-Policy"]
    return re.search(r"'nonce-([^']+)'", policy).group(1)


def test_a_page_asked_for_again_is_served_from_the_cache_with_a_fresh_nonce(
    client, case
):
    url = timeline(case)
    first = client.get(url)
    with QueryCounter() as counter:
        again = client.get(url)

    assert again.status_code == 200
    assert counter.count <= 2  # the revision, as for a 304
    assert nonce_of(again) != nonce_of(first)
    assert f'nonce="{nonce_of(again)}"' in again.text
    assert f'nonce="{nonce_of(first)}"' not in again.text
    assert again.text.replace(nonce_of(again), "N") == first.text.replace(
        nonce_of(first), "N"
    )
    assert again.headers["ETag"] == first.headers["ETag"]


def test_the_fragment_and_the_page_are_cached_apart(client, case):
    url = timeline(case)
    page = client.get(url).text
    fragment = client.get(url, headers=HX).text
    page_again = client.get(url).text
    fragment_again = client.get(url, headers=HX).text

    assert "<html" in page and "<html" in page_again
    assert "<html" not in fragment and "<html" not in fragment_again
    assert len(fragment_again) == len(fragment)


def test_an_edit_between_two_requests_renders_the_page_afresh(client, case):
    url = timeline(case)
    client.get(url)
    event = Event.objects.filter(case=case).first()
    event.title = "Retitled after the first request"
    event.save()

    with QueryCounter() as counter:
        response = client.get(url)

    assert "Retitled after the first request" in response.text
    assert counter.count > 2  # rendered: a page from the cache reads its revision only


def test_the_page_cache_can_be_turned_off(client, case, settings):
    settings.CASETRACKER_PAGE_CACHE_SECONDS = 0
    url = timeline(case)
    client.get(url)

    with QueryCounter() as counter:
        client.get(url)

    assert counter.count > 2  # rendered: a page from the cache reads its revision only
