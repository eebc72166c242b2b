"""Hostile text typed by an editor (or imported) is shown as text everywhere.

Script, attribute-breaking and `javascript:` payloads go into every text field of a
case; every page, fragment and export must carry them escaped, and no link may point
to anything but http(s).
"""

import datetime as dt
import json
import re

import pytest
from django.db import models
from django.urls import reverse

from casetracker.choices import ClaimStatus, SourceKind
from casetracker.models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Proceeding,
    Source,
    Testimony,
)
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
ATTRIBUTE = '" onmouseover="alert(1)" x="'
IMAGE = "<img src=x onerror=alert(2)>"
PAYLOAD = f"{SCRIPT}{ATTRIBUTE}{IMAGE}"
EVIL_URLS = ["javascript:alert(3)", "JaVaScRiPt:alert(4)", "data:text/html,<b>x</b>"]


@pytest.fixture
def hostile_case():
    case = CaseFactory(
        slug="hostile", title=PAYLOAD, short_name=PAYLOAD[:80], summary=PAYLOAD
    )
    proceeding = ProceedingFactory(case=case, name=PAYLOAD[:100], court=PAYLOAD[:200])
    party = PartyFactory(slug="evil-party", name=PAYLOAD[:200])
    CasePartyFactory(case=case, party=party, proceeding=proceeding, note=PAYLOAD)
    claim = ClaimFactory(case=case, slug="evil-claim", title=PAYLOAD[:200])
    claim.asserted_by.add(party)
    event = EventFactory(
        case=case,
        slug="evil-event",
        title=PAYLOAD[:255],
        summary=PAYLOAD,
        date=dt.date(2024, 5, 1),
        date_note=PAYLOAD[:255],
        confidence_note=PAYLOAD,
        is_key=True,
    )
    event.parties.add(party)
    event.claims.add(claim)
    ClaimStatusChangeFactory(
        claim=claim, event=event, status=ClaimStatus.DISMISSED, note=PAYLOAD
    )
    TestimonyFactory(case=case, event=event, witness=party, text=PAYLOAD)
    for url in ["https://safe.example.org/a", *EVIL_URLS]:
        source = SourceFactory(
            case=case,
            kind=SourceKind.NEWS,
            outlet=PAYLOAD[:200],
            headline=PAYLOAD[:300],
            headline_note=PAYLOAD[:255],
        )
        # Past the form's URL validation, as a raw edit or an old import could be.
        Source.objects.filter(pk=source.pk).update(url=url)
        CitationFactory(source=source, event=event, pin_cite=PAYLOAD[:100])
    plant_everywhere(case)
    return case


def plant_everywhere(case) -> None:
    """Every other free-text field of the case's rows gets the payload too, written
    past validation, as a raw edit or an old import could."""
    rows = {
        Case: Case.objects.filter(pk=case.pk),
        Proceeding: Proceeding.objects.filter(case=case),
        Party: Party.objects.filter(case_roles__case=case),
        CaseParty: CaseParty.objects.filter(case=case),
        Claim: Claim.objects.filter(case=case),
        ClaimStatusChange: ClaimStatusChange.objects.filter(claim__case=case),
        Event: Event.objects.filter(case=case),
        Testimony: Testimony.objects.filter(case=case),
        Source: Source.objects.filter(case=case),
        Citation: Citation.objects.filter(source__case=case),
    }
    for model, queryset in rows.items():
        values = {
            field.name: PAYLOAD[: field.max_length or len(PAYLOAD)]
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField)
            and not isinstance(field, models.SlugField | models.URLField)
            and not field.choices
            and field.name not in {"key", "slug"}
        }
        model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True))).update(
            **values
        )


def urls(case) -> list[str]:
    kw = {"case": case.slug}
    timeline = reverse("case_timeline", kwargs=kw)
    return [
        reverse("case_list"),
        case.get_absolute_url(),
        timeline,
        timeline + "?layout=lanes",
        timeline + "?layout=lanes&lanes=claim",
        timeline + "?q=alert",
        reverse("event_detail", kwargs={**kw, "event": "evil-event"}),
        reverse("party_detail", kwargs={**kw, "party": "evil-party"}),
        reverse("claim_detail", kwargs={**kw, "claim": "evil-claim"}),
        reverse("case_testimony", kwargs=kw),
        reverse("case_coverage", kwargs=kw),
    ]


def test_every_page_shows_the_payloads_as_text(client, hostile_case):
    for url in urls(hostile_case):
        for headers in ({}, {"HX-Request": "true", "HX-Target": "timeline"}):
            html = client.get(url, headers=headers).text
            assert "<script>alert" not in html, url
            assert "<img src=x" not in html, url
            assert 'onmouseover="alert' not in html, url
            assert "&lt;script&gt;alert" in html or "&lt;img" in html, url


def test_only_http_links_are_rendered(client, hostile_case):
    for url in urls(hostile_case):
        html = client.get(url).text
        hrefs = re.findall(r'(?:href|src|action|hx-get)="([^"]*)"', html)
        for href in hrefs:
            assert href.startswith(("/", "https://", "http://", "?", "#")), (url, href)
        assert "javascript:" not in html.lower().replace("javascript:alert(3)", ""), url


def test_exports_carry_the_payloads_inert(client, hostile_case):
    kw = {"case": hostile_case.slug}
    csv_text = b"".join(
        client.get(reverse("case_timeline_csv", kwargs=kw)).streaming_content
    ).decode()
    assert PAYLOAD[:255].replace('"', '""') in csv_text  # data, quoted, unchanged

    document = client.get(reverse("case_timeline_json", kwargs=kw)).json()
    rendered = json.dumps(document)
    assert (
        "<script>" not in rendered and "<img" not in rendered
    )  # TimelineJS renders HTML

    feed = client.get(reverse("case_feed", kwargs=kw)).content.decode()
    assert "<script>" not in feed and "<img src=x" not in feed

    ics = b"".join(
        client.get(reverse("case_timeline_ics", kwargs=kw)).streaming_content
    ).decode()
    assert "BEGIN:VEVENT" in ics


def test_the_admin_shows_the_payloads_as_text(staff_client, hostile_case):
    event = hostile_case.events.get()
    for url in [
        reverse("admin:casetracker_event_changelist"),
        reverse("admin:casetracker_event_change", args=[event.pk]),
        reverse("admin:casetracker_source_changelist"),
        reverse("admin:casetracker_party_changelist"),
    ]:
        html = staff_client.get(url).text
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
