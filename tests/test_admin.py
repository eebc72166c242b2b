"""The admin, the only data-entry surface: who gets in, and what it refuses to save."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from casetracker.choices import (
    Confidence,
    DatePrecision,
    EventKind,
    TestimonyForm,
    TestimonyKind,
)
from casetracker.models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    NewsCoverage,
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
    NewsCoverageFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    TestimonyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FACTORIES = {
    Case: CaseFactory,
    Proceeding: ProceedingFactory,
    Party: PartyFactory,
    CaseParty: CasePartyFactory,
    Claim: ClaimFactory,
    ClaimStatusChange: ClaimStatusChangeFactory,
    Event: EventFactory,
    Testimony: TestimonyFactory,
    Source: SourceFactory,
    NewsCoverage: NewsCoverageFactory,
    Citation: CitationFactory,
}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "casetracker"),
    key=lambda model: model._meta.model_name,
)
registered_models = pytest.mark.parametrize(
    "model", REGISTERED, ids=[model._meta.model_name for model in REGISTERED]
)


def admin_url(model, view: str, *args) -> str:
    return reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args
    )


def field_errors(response, field: str) -> str:
    """The text of the error list rendered next to a form field."""
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.text, re.S
    )
    assert match, f"no error list for {field!r}"
    return match.group(1)


def management_form(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


# Every registered model opens for staff and stays closed to everyone else


def test_every_registered_model_has_a_factory():
    """A newly registered model must get a factory here, so the smoke tests cover it."""
    assert set(REGISTERED) <= set(FACTORIES)


@registered_models
def test_admin_pages_open_for_staff(staff_client, model):
    """Changelist, search, add and change pages answer 200 to a staff superuser."""
    obj = FACTORIES[model]()

    for url in (
        admin_url(model, "changelist"),
        admin_url(model, "changelist") + "?q=x",
        admin_url(model, "add"),
        admin_url(model, "change", obj.pk),
    ):
        assert staff_client.get(url).status_code == 200, url


@registered_models
@pytest.mark.parametrize("user", [None, "non-staff"])
def test_admin_is_closed_to_anonymous_and_non_staff_users(client, model, user):
    """Anyone but staff is sent to the admin login page."""
    if user:
        client.force_login(UserFactory(is_staff=False))

    response = client.get(admin_url(model, "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")


# Invalid forms are explained and write nothing


def event_form(case, **overrides) -> dict:
    """POST data for the event add page: the main form and both inline formsets."""
    return {
        "case": case.pk,
        "title": "Verdict read",
        "slug": "verdict-read",
        "kind": EventKind.VERDICT,
        "summary": "",
        "date": "2026-05-18",
        "date_precision": DatePrecision.DAY,
        "end_date": "",
        "end_precision": DatePrecision.DAY,
        "date_note": "",
        "proceeding": "",
        "confidence": Confidence.CONFIRMED,
        "confidence_note": "",
        "key": "",
        **management_form("testimony"),
        **management_form("citations"),
        **overrides,
    }


def test_valid_event_add_form_creates_the_event_and_its_testimony(staff_client):
    """A valid event with one inline excerpt saves both; the excerpt gets the case."""
    case = CaseFactory()
    witness = PartyFactory()
    data = event_form(
        case,
        **management_form("testimony", total=1),
        **{
            "testimony-0-id": "",
            "testimony-0-event": "",
            "testimony-0-witness": witness.pk,
            "testimony-0-kind": TestimonyKind.TRIAL,
            "testimony-0-date": "2026-05-18",
            "testimony-0-date_precision": DatePrecision.DAY,
            "testimony-0-form": TestimonyForm.QUOTE,
            "testimony-0-text": "We the jury find for the defendants.",
            "testimony-0-examined_by": "",
            "testimony-0-examination": "",
            "testimony-0-transcript_cite": "",
            "testimony-0-confidence": Confidence.CONFIRMED,
            "testimony-0-confidence_note": "",
        },
    )

    response = staff_client.post(admin_url(Event, "add"), data)

    assert response.status_code == 302
    event = Event.objects.get()
    assert (event.case, event.slug) == (case, "verdict-read")
    testimony = event.testimony.get()
    assert (testimony.case, testimony.witness) == (case, witness)


def test_event_add_form_shows_a_precision_error_next_to_the_date(staff_client):
    """A month-precision date off the 1st is explained on the date field; nothing saved."""
    data = event_form(
        CaseFactory(), date="2024-03-15", date_precision=DatePrecision.MONTH
    )

    response = staff_client.post(admin_url(Event, "add"), data)

    assert response.status_code == 200
    assert "stored as the 1st of the month: use 2024-03-01" in field_errors(
        response, "date"
    )
    assert Event.objects.count() == 0


def test_event_add_form_refuses_an_end_before_the_date(staff_client):
    """An end date before the date shows the constraint's message; nothing saved."""
    data = event_form(CaseFactory(), date="2024-03-15", end_date="2024-03-14")

    response = staff_client.post(admin_url(Event, "add"), data)

    assert response.status_code == 200
    assert re.search(
        r'<ul class="errorlist nonfield">\s*<li>The end date cannot be before the date.',
        response.text,
    )
    assert Event.objects.count() == 0


def test_testimony_change_form_refuses_a_quoted_paraphrase(staff_client):
    """A paraphrase wrapped in quotation marks is explained on the text; the row keeps its text."""
    testimony = TestimonyFactory(
        form=TestimonyForm.PARAPHRASE, text="He said he had no choice."
    )
    data = {
        "case": testimony.case.pk,
        "key": "",
        "witness": testimony.witness.pk,
        "kind": testimony.kind,
        "form": TestimonyForm.PARAPHRASE,
        "text": "“He said he had no choice.”",
        "context": "",
        "examined_by": "",
        "examination": "",
        "transcript_cite": "",
        "event": "",
        "date": testimony.date.isoformat(),
        "date_precision": DatePrecision.DAY,
        "date_note": "",
        "confidence": Confidence.CONFIRMED,
        "confidence_note": "",
        **management_form("citations"),
    }

    response = staff_client.post(admin_url(Testimony, "change", testimony.pk), data)

    assert response.status_code == 200
    assert "A paraphrase must not be wrapped in quotation marks" in field_errors(
        response, "text"
    )
    testimony.refresh_from_db()
    assert testimony.text == "He said he had no choice."


# The Editors group


def test_editors_group_holds_the_case_data_permissions():
    """Editors add, change and view every model of the admin; they delete all but cases
    and parties. Nothing else: not the search index or the revision counter, which only
    the database writes, nor the audit history, which has no permissions of its own (a
    row's history is seen and reverted with the row's view and change permissions)."""
    expected = set()
    for model in REGISTERED:
        name = model._meta.model_name
        actions = ["add", "change", "view"]
        if name not in {"case", "party"}:
            actions.append("delete")
        expected.update(("casetracker", f"{action}_{name}") for action in actions)

    group = Group.objects.get(name="Editors")
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert granted == expected


@pytest.fixture
def editor_client(client):
    """A staff user whose only permissions come from the Editors group."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("make_url", "status"),
    [
        pytest.param(lambda: admin_url(Event, "changelist"), 200, id="event-list"),
        pytest.param(
            lambda: admin_url(Event, "delete", EventFactory().pk),
            200,
            id="event-delete",
        ),
        pytest.param(
            lambda: admin_url(Case, "delete", CaseFactory().pk), 403, id="case-delete"
        ),
        pytest.param(lambda: "/admin/auth/user/", 403, id="users"),
    ],
)
def test_editors_reach_case_data_but_not_deletion_of_cases_or_users(
    editor_client, make_url, status
):
    """An editor works on events but may not delete a case or see user accounts."""
    assert editor_client.get(make_url()).status_code == status


# View on site


def view_on_site_url(obj) -> str:
    content_type = ContentType.objects.get_for_model(obj)
    return reverse("admin:view_on_site", args=[content_type.pk, obj.pk])


def test_event_change_page_links_to_the_public_page(staff_client):
    """The event change page's "View on site" redirects to the event's permalink."""
    event = EventFactory()
    link = view_on_site_url(event)

    page = staff_client.get(admin_url(Event, "change", event.pk))
    response = staff_client.get(link)

    assert f'href="{link}"' in page.text
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == event.get_absolute_url()


def test_party_without_a_role_offers_no_view_on_site_link(staff_client):
    """A party with no public page gets no "View on site" link that would crash."""
    party = PartyFactory()

    page = staff_client.get(admin_url(Party, "change", party.pk))

    assert view_on_site_url(party) not in page.text


def test_party_with_a_role_links_to_its_page_in_the_case(staff_client):
    role = CasePartyFactory()

    page = staff_client.get(admin_url(Party, "change", role.party.pk))

    assert f'href="{role.get_absolute_url()}"' in page.text


def test_export_action_gives_the_timeline_csv_of_the_selected_events(staff_client):
    case = CaseFactory()
    chosen = [EventFactory(case=case, title=f"Chosen {n}") for n in range(2)]
    EventFactory(case=case, title="Left out")

    response = staff_client.post(
        reverse("admin:casetracker_event_changelist"),
        {"action": "export_csv", "_selected_action": [e.pk for e in chosen]},
    )

    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith("id,date,date_precision")
    assert "Chosen 0" in body and "Chosen 1" in body
    assert "Left out" not in body


@pytest.mark.parametrize(
    ("model_name", "field_name"),
    [
        ("event", "parties"),  # a Party picker
        ("claimstatuschange", "event"),  # an Event picker
        ("citation", "source"),
        ("event", "claims"),
        ("event", "proceeding"),
        ("citation", "testimony"),
        ("citation", "status_change"),
    ],
)
def test_autocomplete_pickers_page_through_a_stable_order(
    staff_client, model_name, field_name
):
    """Admins that annotate counts (GROUP BY drops Meta.ordering) still order their
    autocomplete results: an unordered page raises UnorderedObjectListWarning."""
    for factory in (EventFactory, PartyFactory, ClaimStatusChangeFactory):
        factory.create_batch(2)
    TestimonyFactory()
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "",
            "app_label": "casetracker",
            "model_name": model_name,
            "field_name": field_name,
        },
    )

    assert response.status_code == 200
