"""Who gets into the admin: staff only, editors without user or group rights, and
sign-in attempts rate-limited (casetracker/login_limits.py)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from casetracker.login_limits import client_ip
from casetracker.models import Event
from tests.factories import EventFactory, StaffFactory, UserFactory
from tests.test_history import form_data

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-long-test-password"  # the factories' password
LOCKED = "Too many failed sign-in attempts"
INVALID = "Please enter the correct username and password for a staff account"
START = dt.datetime(2026, 5, 18, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def empty_cache(settings):
    """The failure counters live in the cache: a local one of these tests' own (never a
    shared Redis), emptied before and after each test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "login-limit-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 5
    settings.LOGIN_FAILURES_PER_IP = 20
    settings.LOGIN_LOCKOUT_SECONDS = 15 * 60
    settings.LOGIN_CLIENT_IP_HEADER = ""
    return settings


def sign_in(client, username: str, password: str, **extra):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# Rate limits


def test_five_failures_lock_the_username_out_even_with_the_right_password(client):
    user = StaffFactory()
    for attempt in range(4):
        response = sign_in(client, user.username, "wrong")
        assert INVALID in response.text, attempt
        assert LOCKED not in response.text

    fifth = sign_in(client, user.username, "wrong")
    right = sign_in(client, user.username, PASSWORD)

    assert fifth.status_code == 200
    assert LOCKED in fifth.text
    assert "15 more minutes" in fifth.text
    assert right.status_code == 200
    assert LOCKED in right.text
    assert not signed_in(client)


def test_the_lock_expires(client):
    user = StaffFactory()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            sign_in(client, user.username, "wrong")
        clock.shift(dt.timedelta(minutes=10))
        still = sign_in(client, user.username, PASSWORD)
        assert LOCKED in still.text
        assert "5 more minutes" in still.text

        clock.shift(dt.timedelta(minutes=5, seconds=1))
        response = sign_in(client, user.username, PASSWORD)

        assert response.status_code == 302
        assert signed_in(client)


def test_failures_spread_beyond_the_window_do_not_lock(client):
    user = StaffFactory()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(4):
            sign_in(client, user.username, "wrong")
        clock.shift(dt.timedelta(minutes=16))
        sign_in(client, user.username, "wrong")
        response = sign_in(client, user.username, PASSWORD)

    assert response.status_code == 302


def test_a_successful_sign_in_resets_the_count(client):
    user = StaffFactory()
    for _ in range(4):
        sign_in(client, user.username, "wrong")
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        response = sign_in(client, user.username, "wrong")

    assert LOCKED not in response.text
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_other_users_are_not_locked_out(client):
    locked, other = StaffFactory(), StaffFactory()
    for _ in range(5):
        sign_in(client, locked.username, "wrong")

    response = sign_in(client, other.username, PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_the_username_is_counted_whatever_its_case(client):
    StaffFactory(username="casey")
    for name in ("casey", "CASEY", "Casey", "cAsEy", "CaSeY"):
        sign_in(client, name, "wrong")

    assert LOCKED in sign_in(client, "casey", PASSWORD).text


def test_an_unknown_username_is_locked_like_a_real_one(client):
    """The lock tells nothing about which accounts exist."""
    for _ in range(5):
        response = sign_in(client, "nobody-here", "wrong")

    assert LOCKED in response.text


def test_many_failures_from_one_address_lock_that_address(client, limits):
    limits.LOGIN_FAILURES_PER_IP = 3
    user = StaffFactory()
    for n in range(3):
        sign_in(client, f"guess{n}", "wrong", REMOTE_ADDR="203.0.113.9")

    from_there = sign_in(client, user.username, PASSWORD, REMOTE_ADDR="203.0.113.9")
    elsewhere = sign_in(client, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7")

    assert LOCKED in from_there.text
    assert elsewhere.status_code == 302


def test_the_client_address_comes_from_the_proxy_header_only_when_configured(
    limits,
):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_ip(request) == "10.0.0.1"

    limits.LOGIN_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    assert client_ip(request) == "203.0.113.9"  # the one the proxy added
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


# Staff only


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/casetracker/event/",
        "/admin/casetracker/event/add/",
        "/admin/auth/user/",
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={path}"


def test_a_user_without_staff_status_cannot_sign_in(client):
    user = UserFactory(is_staff=False)

    response = sign_in(client, user.username, PASSWORD)

    assert response.status_code == 200
    assert INVALID in response.text
    assert not signed_in(client)


def test_a_signed_in_user_without_staff_status_is_sent_to_the_login_page(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.get("/admin/casetracker/event/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# Editors: case data yes, users and groups no


@pytest.fixture
def editor_client(client):
    """A staff user, not a superuser, whose permissions come from the Editors group."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


def test_an_editor_opens_and_changes_an_event(editor_client):
    event = EventFactory(title="Old title")
    change = reverse("admin:casetracker_event_change", args=[event.pk])

    page = editor_client.get(change)
    response = editor_client.post(change, form_data(page, title="New title"))

    assert page.status_code == 200
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Event.objects.get(pk=event.pk).title == "New title"


@pytest.mark.parametrize(
    "make_path",
    [
        pytest.param(lambda: "/admin/auth/user/", id="user-list"),
        pytest.param(lambda: "/admin/auth/user/add/", id="user-add"),
        pytest.param(
            lambda: f"/admin/auth/user/{StaffFactory().pk}/change/", id="user-change"
        ),
        pytest.param(
            lambda: f"/admin/auth/user/{StaffFactory().pk}/password/",
            id="user-password",
        ),
        pytest.param(lambda: "/admin/auth/group/", id="group-list"),
        pytest.param(lambda: "/admin/auth/group/add/", id="group-add"),
        pytest.param(
            lambda: f"/admin/auth/group/{Group.objects.get(name='Editors').pk}/change/",
            id="group-change",
        ),
    ],
)
def test_an_editor_is_refused_user_and_group_pages(editor_client, make_path):
    path = make_path()

    assert editor_client.get(path).status_code == 403
    assert editor_client.post(path, {"name": "Admins"}).status_code == 403


def test_an_editor_does_not_see_users_or_groups_on_the_index(editor_client):
    response = editor_client.get("/admin/")

    apps = {app["app_label"] for app in response.context["app_list"]}
    assert apps == {"casetracker"}
    assert "/admin/auth/" not in response.text
