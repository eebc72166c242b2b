"""Two app servers behind one load balancer: one PostgreSQL, one Redis, no stale pages.

The test makes its own throwaway PostgreSQL database (migrated, demo case loaded) and
runs two gunicorn servers on it with production settings, sharing Redis under a key
prefix of their own in database 15. An editor saves through server A; server B must
serve the change on the very next request, its ETag must move, and the database must
hold the write. Without PostgreSQL or Redis it skips, except under CI=true, where their
absence is a failure. It does not use pytest-django's test database.
"""

import os
import re
import secrets
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from psycopg import sql

from loadtest.admin_session import AdminSession
from tests.servers import (
    free_port,
    manage,
    production_env,
    require,
    start_gunicorn,
    stop_server,
    wait_healthy,
)

pytestmark = pytest.mark.multi_server

POSTGRES_URL = os.environ.get(
    "MULTI_SERVER_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("MULTI_SERVER_REDIS_URL", "redis://127.0.0.1:6379/15")
CASE = "musk-v-openai"


def _postgres_up() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL database of its own, dropped afterwards."""
    require(_postgres_up(), f"PostgreSQL at {POSTGRES_URL}")
    name = f"casetracker_multi_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


@pytest.fixture(scope="module")
def cache_prefix():
    """A Redis key prefix of this run's own, its keys deleted afterwards."""
    require(_redis_up(), f"Redis at {REDIS_URL}")
    prefix = f"multi-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(scope="module")
def servers(database, cache_prefix, tmp_path_factory):
    """Servers A and B: the same release, database, cache and secret key."""
    tmp = tmp_path_factory.mktemp("multi")
    env = production_env(
        DATABASE_URL=database,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=cache_prefix,
        STATIC_ROOT=str(tmp / "static"),
    )
    # Once per deployment, not per server: static files, migrations, data.
    manage("collectstatic", "--noinput", "-v0", env=env)
    manage("migrate", "--noinput", "-v0", env=env)
    manage("load_case", CASE, env=env)
    started, urls = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp / f"{name}.log"
            started.append(start_gunicorn(port, env, log))
            urls.append(f"http://127.0.0.1:{port}")
            wait_healthy(urls[-1], started[-1], log)
        yield env, *urls
    finally:
        for server in started:
            stop_server(server)


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
            return response.status, dict(response.headers), body
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def _scalar(database: str, query: str, params: list) -> object:
    with psycopg.connect(database) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_an_admin_save_on_one_server_shows_on_the_other_at_once(servers, database):
    env, server_a, server_b = servers
    slug = _scalar(
        database,
        "SELECT e.slug FROM casetracker_event e JOIN casetracker_case c"
        " ON c.id = e.case_id WHERE c.slug = %s ORDER BY e.id LIMIT 1",
        [CASE],
    )
    event_id = _scalar(
        database, "SELECT id FROM casetracker_event WHERE slug = %s", [slug]
    )
    public = f"/cases/{CASE}/events/{slug}/"
    timeline = f"/cases/{CASE}/timeline/"
    csv = f"/cases/{CASE}/timeline.csv"
    # B has served (and cached) every page before the edit.
    before = {path: _get(server_b + path) for path in (public, timeline, csv)}
    assert all(status == 200 for status, _, _ in before.values())

    password = secrets.token_urlsafe(16)
    manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "multi-editor",
        "--email",
        "editor@example.org",
        env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
    )
    editor = AdminSession(server_a)
    editor.login("multi-editor", password)
    token = f"[multi-server {secrets.token_hex(4)}]"
    reply, error = editor.save(
        f"/admin/casetracker/event/{event_id}/change/",
        "event_form",
        {"summary": lambda summary: f"{summary} {token}"},
    )
    assert not error, error
    assert reply.status == 302

    # The write is in the database, and server B serves it on the next request, to a
    # client revalidating the copy it got from B before the edit.
    summary = _scalar(
        database, "SELECT summary FROM casetracker_event WHERE id = %s", [event_id]
    )
    assert token in summary
    for path in (public, csv):
        _, old_headers, _ = before[path]
        status, headers, body = _get(
            server_b + path, {"If-None-Match": old_headers["ETag"]}
        )
        assert status == 200, path
        assert headers["ETag"] != old_headers["ETag"], path
        assert token in body, path
    # The timeline's ETag moves too (its month counts come from the shared cache).
    status, headers, _ = _get(
        server_b + timeline, {"If-None-Match": before[timeline][1]["ETag"]}
    )
    assert status == 200
    # Both servers hand out the same validator for the same page: a client may be
    # balanced to either and still get its 304.
    _, a_headers, _ = _get(server_a + public)
    status, _, _ = _get(server_b + public, {"If-None-Match": a_headers["ETag"]})
    assert status == 304

    # The editor's session, made on A, is good on B: sessions live in the database.
    editor_on_b = AdminSession(server_b, cookies=dict(editor.cookies))
    assert editor_on_b.request("GET", "/admin/").status == 200


def test_a_change_from_another_process_shows_on_both_servers(servers):
    env, server_a, server_b = servers
    pages = [f"/cases/{CASE}/timeline.csv", f"/cases/{CASE}/timeline/"]
    etags = {
        (url, page): _get(url + page)[1]["ETag"]
        for url in (server_a, server_b)
        for page in pages
    }
    title = f"Retitled by a script {secrets.token_hex(4)}"

    # Not through either server: an update from a process of its own.
    code = (
        "from casetracker.models import Event;"
        f"first = Event.objects.filter(case__slug={CASE!r}).order_by('pk')[:1];"
        f"Event.objects.filter(pk__in=first.values('pk')).update(title={title!r})"
    )
    manage("shell", "-c", code, env=env)

    for (url, page), etag in etags.items():
        status, _, body = _get(url + page, {"If-None-Match": etag})
        assert status == 200, (url, page)
        if page.endswith(".csv"):
            assert title in body, url


def test_both_servers_share_the_redis_cache(servers, cache_prefix):
    _, server_a, _ = servers
    _get(server_a + f"/cases/{CASE}/timeline/")

    keys = redis.Redis.from_url(REDIS_URL).keys(f"{cache_prefix}:*")

    assert any(re.search(rb"case-month-counts", key) for key in keys), keys
