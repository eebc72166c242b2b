"""The audit history: every change made in the admin is kept with who, when and what,
shown on the row's History page, and can be reverted from there."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from casetracker.models import Event, NewsCoverage, Source
from tests.factories import (
    ClaimStatusChangeFactory,
    EventFactory,
    LinkedEventFactory,
    NewsCoverageFactory,
    PartyFactory,
    StaffFactory,
    TestimonyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CREATED_AT = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
EDITED_AT = dt.datetime(2026, 5, 18, 9, 30, tzinfo=dt.UTC)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:casetracker_{model._meta.model_name}_{view}", args=args)


def form_data(response, **changes) -> dict:
    """POST data for an admin form page as it stands, with `changes` applied; inlines
    are left as they are (no forms submitted)."""
    form = response.context["adminform"].form
    data = {}
    for name, value in form.initial.items():
        if value is None:
            continue
        if isinstance(value, list):  # many-to-many: model instances or ids
            value = [getattr(item, "pk", item) for item in value]
        data[name] = value
    for formset in response.context.get("inline_admin_formsets") or ():
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


@pytest.fixture
def staff():
    return StaffFactory(username="editor-ann")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def edited(staff_client):
    """An event with one party, then renamed and given another party in the admin."""
    before, after = PartyFactory(name="Party Before"), PartyFactory(name="Party After")
    with time_machine.travel(CREATED_AT, tick=False):
        event = LinkedEventFactory(title="Before the edit", parties=[before])
    change = url(Event, "change", event.pk)
    with time_machine.travel(EDITED_AT, tick=False):
        response = staff_client.post(
            change,
            form_data(
                staff_client.get(change), title="After the edit", parties=[after.pk]
            ),
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    return event, before, after


def test_an_admin_edit_is_recorded_with_its_user_time_and_changed_fields(edited, staff):
    event, before, after = edited

    # Newest first: the links changed (removed, then added) after the row was saved.
    added, removed, saved, *older = event.audit_history.all()
    for record in (added, removed, saved):
        assert (record.history_user, record.history_date) == (staff, EDITED_AT)
        assert record.history_type == "~"
    assert older and all(record.history_user is None for record in older)

    assert saved.diff_against(
        older[0], excluded_fields=["updated_at"]
    ).changed_fields == ["title"]
    assert [row.party for row in saved.parties.all()] == [before]
    assert [row.party for row in added.parties.all()] == [after]
    assert added.diff_against(saved).changed_fields == ["parties"]


def test_the_history_page_shows_who_when_and_what_changed(staff_client, edited):
    event, before, after = edited

    page = staff_client.get(url(Event, "history", event.pk))

    assert page.status_code == 200
    text = page.text
    assert "editor-ann" in text
    assert "18 May 2026" in text
    assert "<strong>Title:</strong>" in text
    assert "Before the edit" in text and "After the edit" in text
    assert "<strong>Parties:</strong>" in text
    assert "Party Before" in text and "Party After" in text
    assert "Updated at" not in text  # changes on every save: left out of the diff


def test_reverting_restores_the_old_values_and_links(staff_client, edited, staff):
    event, before, after = edited
    # Newest first: the edit's three records, the party added, the creation.
    last_before_edit = event.audit_history.all()[3]
    assert last_before_edit.history_date < EDITED_AT
    version = url(Event, "simple_history", event.pk, last_before_edit.history_id)

    page = staff_client.get(version)
    assert page.status_code == 200
    assert 'value="Before the edit"' in page.text
    response = staff_client.post(version, form_data(page))

    assert response.status_code == 302, response.context["adminform"].form.errors
    event.refresh_from_db()
    assert event.title == "Before the edit"
    assert list(event.parties.all()) == [before]
    # The revert is recorded too.
    assert event.audit_history.first().history_user == staff


def test_inline_rows_saved_with_the_page_are_recorded_with_the_user(
    staff_client, staff
):
    testimony = TestimonyFactory(text="Old words.")
    event = EventFactory(case=testimony.case)
    testimony.event = event
    testimony.save()
    change = url(Event, "change", event.pk)
    page = staff_client.get(change)
    data = form_data(page)
    formset = next(
        f.formset
        for f in page.context["inline_admin_formsets"]
        if f.formset.prefix == "testimony"
    )
    data.update(
        {
            "testimony-TOTAL_FORMS": "1",
            "testimony-INITIAL_FORMS": "1",
            **{
                f"testimony-0-{name}": value
                for name, value in formset.forms[0].initial.items()
                if value is not None and not isinstance(value, list)
            },
            "testimony-0-id": testimony.pk,
            "testimony-0-event": event.pk,
            "testimony-0-text": "New words.",
        }
    )

    response = staff_client.post(change, data)

    assert response.status_code == 302, response.context["inline_admin_formsets"]
    record = testimony.audit_history.first()
    assert (record.text, record.history_user) == ("New words.", staff)


def test_news_coverage_edits_go_into_the_source_history(staff_client, staff):
    """NewsCoverage is a proxy of Source: its page shares the source's history."""
    item = NewsCoverageFactory(headline="Old headline")
    change = url(NewsCoverage, "change", item.pk)

    response = staff_client.post(
        change, form_data(staff_client.get(change), headline="New headline")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    record = Source.audit_history.filter(id=item.pk).first()
    assert (record.headline, record.history_user) == ("New headline", staff)
    page = staff_client.get(url(NewsCoverage, "history", item.pk))
    assert "Old headline" in page.text and "New headline" in page.text


def test_a_claims_status_history_keeps_its_name():
    """The audit history is `audit_history`: `claim.history` stays the status changes."""
    change = ClaimStatusChangeFactory()

    assert list(change.claim.history.all()) == [change]
    assert change.claim.audit_history.count() == 1


def test_writes_outside_a_request_are_recorded_without_a_user():
    event = EventFactory(title="Made in code")
    event.title = "Renamed in code"
    event.save()

    assert [(r.title, r.history_user) for r in event.audit_history.all()] == [
        ("Renamed in code", None),
        ("Made in code", None),
    ]


def test_a_view_only_user_sees_history_but_cannot_revert(client, edited):
    event, *_ = edited
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(viewer)
    record = event.audit_history.last()
    version = url(Event, "simple_history", event.pk, record.history_id)

    assert client.get(url(Event, "history", event.pk)).status_code == 200
    page = client.get(version)
    assert page.status_code == 200
    assert 'value="Revert"' not in page.text
    assert client.post(version, form_data(page)).status_code == 403
    event.refresh_from_db()
    assert event.title == "After the edit"


def test_editors_can_read_and_revert_history(client, edited):
    """With the permissions they have on the rows: the history has none of its own."""
    assert not Permission.objects.filter(
        content_type__model__startswith="historical"
    ).exists()
    event, *_ = edited
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    record = event.audit_history.last()
    version = url(Event, "simple_history", event.pk, record.history_id)

    assert client.get(url(Event, "history", event.pk)).status_code == 200
    page = client.get(version)
    assert 'value="Revert"' in page.text
    assert client.post(version, form_data(page)).status_code == 302
    event.refresh_from_db()
    assert event.title == record.title


def test_history_pages_keep_to_the_strict_csp(staff_client, edited):
    """No inline style, no event-handler attribute, no script without the nonce (the
    browser test checks the same in Chromium, where it is installed)."""
    event, *_ = edited
    record = event.audit_history.last()
    for path in (
        url(Event, "history", event.pk),
        url(Event, "simple_history", event.pk, record.history_id),
    ):
        text = staff_client.get(path).text
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), path
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "nonce=" in tag, (path, tag)
