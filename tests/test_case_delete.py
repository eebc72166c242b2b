"""Deleting a case with everything in it: services.case_delete, `manage.py
delete_case` and the admin's page for it; and the admin's backup download that
goes before it."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from casetracker import admin as case_admin
from casetracker import search
from casetracker.backups import backup_read, case_restore
from casetracker.db import QueryCounter
from casetracker.models import (
    Case,
    CaseMonth,
    CaseParty,
    Citation,
    Event,
    EventFacet,
    EventSearch,
    Party,
    Source,
    Testimony,
)
from casetracker.services import case_delete
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    EventFactory,
    LinkedEventFactory,
    UserFactory,
)
from tests.test_backups import backup_bytes, small_case, snapshot

pytestmark = pytest.mark.django_db


def delete_all_url(case: Case) -> str:
    return reverse("admin:casetracker_case_delete_all", args=(case.pk,))


def backup_url(case: Case) -> str:
    return reverse("admin:casetracker_case_backup", args=(case.pk,))


def case_rows(case_id: int) -> dict[str, int]:
    """How many rows of each kind still belong to the case."""
    return {
        "cases": Case.objects.filter(pk=case_id).count(),
        "events": Event.objects.filter(case_id=case_id).count(),
        "testimony": Testimony.objects.filter(case_id=case_id).count(),
        "sources": Source.objects.filter(case_id=case_id).count(),
        "roles": CaseParty.objects.filter(case_id=case_id).count(),
        "citations": Citation.objects.filter(source__case_id=case_id).count(),
        "months": CaseMonth.objects.filter(case_id=case_id).count(),
        "facets": EventFacet.objects.filter(case_id=case_id).count(),
    }


def two_cases_sharing_a_party() -> tuple[Case, Case, Party]:
    """A case with a row in every table, and another case that uses one of its
    parties."""
    case = small_case()
    shared = Party.objects.filter(case_roles__case=case).first()
    other = CasePartyFactory(party=shared).case
    LinkedEventFactory(case=other, parties=[shared], title="Other hearing")
    return case, other, shared


def test_every_row_of_the_case_goes_and_a_backup_brings_it_back():
    case, other, shared = two_cases_sharing_a_party()
    own_parties = set(
        Party.objects.filter(case_roles__case=case)
        .exclude(pk=shared.pk)
        .values_list("pk", flat=True)
    )
    before = snapshot()
    other_before = case_rows(other.pk)
    data = backup_bytes(case)

    deleted = case_delete(case)

    assert set(case_rows(case.pk).values()) == {0}
    assert case_rows(other.pk) == other_before
    assert not Party.objects.filter(pk__in=own_parties).exists()
    assert Party.objects.filter(pk=shared.pk).exists()
    assert deleted["events"] == 1 and deleted["cases"] == 1
    assert deleted["citations"] == 4
    # The search index holds the other case's event only.
    assert EventSearch.objects.count() == Event.objects.count() == 1
    found = search.filter_events(Event.objects.all(), "hearing")
    assert [event.title for event in found] == ["Other hearing"]
    # Everything comes back from the backup taken before.
    case_restore(data=data)
    assert snapshot() == before


def test_the_deletion_is_in_the_case_history():
    case = CaseFactory(title="Doe v. Roe")
    EventFactory(case=case)

    case_delete(case)

    record = Case.audit_history.get(id=case.pk, history_type="-")
    assert record.title == "Doe v. Roe"


def test_as_many_statements_for_many_events_as_for_few():
    def statements(events: int) -> int:
        case = CaseFactory()
        for _ in range(events):
            LinkedEventFactory(case=case)
        with QueryCounter() as counter:
            case_delete(case)
        assert not Event.objects.filter(case_id=case.pk).exists()
        return counter.count

    assert statements(2) == statements(12)


# manage.py delete_case


def test_the_command_deletes_without_asking_given_no_input():
    case = LinkedEventFactory().case
    out = io.StringIO()

    call_command("delete_case", case.slug, "--no-input", stdout=out)

    assert f"Deleted case '{case.slug}': " in out.getvalue()
    assert "1 event, " in out.getvalue() and "1 case" in out.getvalue()
    assert not Case.objects.filter(pk=case.pk).exists()


def test_the_command_asks_for_the_slug_and_keeps_the_case_if_it_differs(
    monkeypatch,
):
    case = LinkedEventFactory().case
    monkeypatch.setattr("builtins.input", lambda prompt: "another-case")
    out = io.StringIO()

    with pytest.raises(CommandError, match="nothing deleted"):
        call_command("delete_case", case.slug, stdout=out)

    assert "1 event, 0 testimony excerpts" in out.getvalue()
    assert "It cannot be undone" in out.getvalue()
    assert Event.objects.filter(case=case).count() == 1


def test_the_command_deletes_once_the_slug_is_typed(monkeypatch):
    case = LinkedEventFactory().case
    monkeypatch.setattr("builtins.input", lambda prompt: f" {case.slug} ")

    call_command("delete_case", case.slug, stdout=io.StringIO())

    assert not Case.objects.filter(pk=case.pk).exists()


def test_the_command_writes_a_backup_first(tmp_path):
    case = small_case()
    before = snapshot()
    path = tmp_path / "case.json.gz"

    call_command(
        "delete_case",
        case.slug,
        "--no-input",
        "--backup",
        str(path),
        stdout=io.StringIO(),
    )
    assert not Case.objects.filter(pk=case.pk).exists()
    call_command("restore_case", str(path), stdout=io.StringIO())

    assert snapshot() == before


def test_the_command_deletes_nothing_when_the_backup_cannot_be_written(tmp_path):
    case = LinkedEventFactory().case

    with pytest.raises(CommandError, match="in. Nothing deleted."):
        call_command(
            "delete_case",
            case.slug,
            "--no-input",
            "--backup",
            str(tmp_path / "missing" / "case.json"),
        )

    assert Event.objects.filter(case=case).exists()


def test_the_command_refuses_an_unknown_slug():
    with pytest.raises(CommandError, match="No case with slug 'nope'"):
        call_command("delete_case", "nope", "--no-input")


# The admin


def test_the_refused_delete_page_links_to_deleting_everything(staff_client):
    case = LinkedEventFactory().case

    page = staff_client.get(
        reverse("admin:casetracker_case_delete", args=(case.pk,))
    ).text

    assert "still refer" in page
    assert f'href="{delete_all_url(case)}"' in page


def test_the_page_lists_what_goes_and_asks_for_the_slug(staff_client):
    case = small_case()

    response = staff_client.get(delete_all_url(case))

    assert response.status_code == 200
    for line in ("1 event", "1 testimony excerpt", "1 source", "2 party roles"):
        assert f"<li>{line}</li>" in response.text
    assert f"The slug is “{case.slug}”." in response.text
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("musk-v-openai", "That is not this case&#x27;s slug"),
        ("<b>x</b>", "That is not this case&#x27;s slug"),
        ("", "This field is required."),
        ("x" * 300, "Ensure this value has at most 200 characters"),
    ],
)
def test_a_wrong_slug_deletes_nothing(staff_client, typed, error):
    case = small_case()
    before = snapshot()

    response = staff_client.post(delete_all_url(case), {"slug": typed})

    assert response.status_code == 200
    assert error in response.text
    assert "<b>x</b>" not in response.text
    assert snapshot() == before


def test_the_slug_deletes_the_case_and_records_who(staff_client):
    case, other, shared = two_cases_sharing_a_party()
    other_before = case_rows(other.pk)

    response = staff_client.post(delete_all_url(case), {"slug": case.slug}, follow=True)

    assert response.redirect_chain[-1][0] == reverse(
        "admin:casetracker_case_changelist"
    )
    assert f"Deleted case “{case}”: " in response.text
    assert set(case_rows(case.pk).values()) == {0}
    assert case_rows(other.pk) == other_before
    record = Case.audit_history.get(id=case.pk, history_type="-")
    assert record.history_user == response.wsgi_request.user


def test_a_case_past_the_admin_limit_is_left_to_the_command(staff_client, monkeypatch):
    monkeypatch.setattr(case_admin, "WHOLE_CASE_ADMIN_MAX", 2)
    case = CaseFactory()
    EventFactory.create_batch(3, case=case)

    page = staff_client.get(delete_all_url(case)).text
    staff_client.post(delete_all_url(case), {"slug": case.slug})

    assert f"manage.py delete_case {case.slug} --backup FILE" in page
    assert 'name="slug"' not in page
    assert Event.objects.filter(case=case).count() == 3


@pytest.fixture
def editor_client(client):
    """A staff user whose only permissions come from the Editors group: they may not
    delete a case or a party."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


def test_editors_may_not_delete_everything(editor_client):
    case = LinkedEventFactory().case
    user = editor_client.get(reverse("admin:index")).wsgi_request.user
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["delete_case", "view_case"])
    )

    page = editor_client.get(reverse("admin:casetracker_case_delete", args=(case.pk,)))
    shown = editor_client.get(delete_all_url(case))
    posted = editor_client.post(delete_all_url(case), {"slug": case.slug})

    assert page.status_code == 200 and delete_all_url(case) not in page.text
    assert shown.status_code == posted.status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize("object_id", ["999999", "abc", "9" * 20, "-1"])
def test_an_unknown_case_is_not_found(staff_client, object_id):
    url = reverse("admin:casetracker_case_delete_all", args=(object_id,))

    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url, {"slug": "x"}).status_code == 404


# The admin's backup download


def test_the_downloaded_backup_brings_the_deleted_case_back(staff_client):
    case = small_case()
    before = snapshot()

    response = staff_client.get(backup_url(case))
    data = b"".join(response.streaming_content)
    case_delete(case)
    case_restore(data=data)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="{case.slug}-backup-'
    )
    assert data[:2] == b"\x1f\x8b"
    assert backup_read(data)["case"] == case.slug
    assert snapshot() == before


def test_a_big_backup_is_sent_in_pieces():
    """Compressed as it is read: more than one piece for a case bigger than one."""
    from casetracker.backups import case_backup_gzip

    case = CaseFactory()
    for _ in range(60):
        LinkedEventFactory(case=case, summary="x" * 2000)

    pieces = list(case_backup_gzip(case=case))

    assert len(pieces) > 1
    assert backup_read(b"".join(pieces))["tables"]
    assert sum(len(p) for p in pieces) < 60 * 2000  # compressed


def test_the_case_page_links_to_its_backup_for_who_may_read_it(staff_client):
    case = LinkedEventFactory().case
    change = reverse("admin:casetracker_case_change", args=(case.pk,))
    editor = UserFactory(is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    editor_client = Client()
    editor_client.force_login(editor)

    page = staff_client.get(change).text
    delete_page = staff_client.get(delete_all_url(case)).text
    editors_page = editor_client.get(change).text

    assert f'href="{backup_url(case)}"' in page
    assert f'href="{backup_url(case)}"' in editors_page  # Editors view every row
    assert f'href="{backup_url(case)}"' in delete_page


def test_the_backup_needs_the_view_permission_on_every_row(client):
    case = LinkedEventFactory().case
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_case", "change_case"])
    )
    client.force_login(user)

    page = client.get(reverse("admin:casetracker_case_change", args=(case.pk,)))
    response = client.get(backup_url(case))

    assert page.status_code == 200 and backup_url(case) not in page.text
    assert response.status_code == 403


def test_a_case_past_the_admin_limit_is_backed_up_by_the_command(
    staff_client, monkeypatch
):
    monkeypatch.setattr(case_admin, "WHOLE_CASE_ADMIN_MAX", 2)
    case = CaseFactory()
    EventFactory.create_batch(3, case=case)

    response = staff_client.get(backup_url(case), follow=True)

    assert not response.streaming
    assert response.redirect_chain[-1][0] == reverse(
        "admin:casetracker_case_change", args=(case.pk,)
    )
    assert f"manage.py backup_case {case.slug} -o FILE" in response.text


@pytest.mark.parametrize("object_id", ["999999", "abc", "9" * 20, "-1"])
def test_the_backup_of_an_unknown_case_is_not_found(staff_client, object_id):
    url = reverse("admin:casetracker_case_backup", args=(object_id,))

    assert staff_client.get(url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_download_reads_one_snapshot_outside_any_transaction(client):
    """As served: no test transaction around it, so on PostgreSQL the download's
    own transaction is the outermost and takes its REPEATABLE READ snapshot."""
    from tests.factories import StaffFactory

    case = small_case()
    client.force_login(StaffFactory())

    response = client.get(backup_url(case))
    data = b"".join(response.streaming_content)
    response.close()

    assert backup_read(data)["case"] == case.slug
    assert Event.objects.filter(case=case).count() == 1


def test_the_page_runs_as_many_statements_for_a_big_case_as_for_a_small_one(
    staff_client,
):
    def statements(events: int) -> int:
        case = CaseFactory()
        for _ in range(events):
            LinkedEventFactory(case=case)
        with QueryCounter() as counter:
            page = staff_client.get(delete_all_url(case)).text
        assert f"<li>{events} events</li>" in page
        return counter.count

    assert statements(2) == statements(12)
