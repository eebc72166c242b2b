"""Production settings refuse an unsafe configuration and pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k3Jx9-vQ2_pLm8ZrT0wYb6NcH4sEaU1fG7dKiO5jXqWnVlR2yPtS8uMzCbAe3hFgD"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        # The browser tests' async-safety switch would fail the deploy checks.
        if key
        not in {
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environment.update(DJANGO_SETTINGS_MODULE="casetracker.settings.prod", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "key",
    ["", "short", "django-insecure-" + "x" * 60, "a" * 64],
    ids=["missing", "short", "django-placeholder", "low-entropy"],
)
def test_production_refuses_to_start_without_a_real_secret_key(key):
    result = run_manage("check", SECRET_KEY=key, ALLOWED_HOSTS="cases.example.org")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="cases.example.org",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_has_debug_off_and_strict_csp():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_CSP['script-src'], s.SECURE_CSP['style-src'])"
    )
    result = run_manage("shell", "-c", code, SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.org")

    assert result.returncode == 0, result.stderr
    assert "False True" in result.stdout
    assert "'unsafe-inline'" not in result.stdout


def test_database_url_selects_postgresql_and_sqlite_is_the_default():
    code = (
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'])"
    )
    default = run_manage(
        "shell", "-c", code, SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.org", DATABASE_URL=""
    )
    postgres = run_manage(
        "shell",
        "-c",
        code,
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="x.org",
        DATABASE_URL="postgres://user@db.example.org:5432/cases",
    )

    assert default.stdout.strip().endswith("sqlite3"), default.stderr
    assert postgres.stdout.strip().endswith("postgresql"), postgres.stderr


def sqlite_shell(code: str, path: Path) -> str:
    """What `code` prints, run in production settings on the SQLite file `path`."""
    result = run_manage(
        "shell",
        "-c",
        code,
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="x.org",
        DATABASE_URL="",
        SQLITE_PATH=str(path),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sqlite_runs_in_wal_mode(tmp_path):
    code = (
        "from django.db import connection; c = connection.cursor();"
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )

    assert sqlite_shell(code, tmp_path / "wal.sqlite3").endswith("wal")


def test_sqlite_connections_have_the_page_cache_of_the_settings(tmp_path):
    """A kept connection keeps its pages: the default 2 MB held too few of them."""
    from django.conf import settings

    code = (
        "from django.db import connection; c = connection.cursor();"
        "c.execute('PRAGMA cache_size'); print(c.fetchone()[0])"
    )

    printed = sqlite_shell(code, tmp_path / "cache.sqlite3").splitlines()[-1]
    assert int(printed) == -settings.SQLITE_CACHE_KB <= -32 * 1024


def test_sqlite_keeps_its_connection_between_requests(tmp_path):
    """Opening a connection parses the whole schema: a request's end keeps it."""
    code = (
        "from django.db import close_old_connections, connection as c;"
        "c.ensure_connection(); first = c.connection; close_old_connections();"
        "c.ensure_connection(); print('kept' if c.connection is first else 'new')"
    )

    assert sqlite_shell(code, tmp_path / "kept.sqlite3").endswith("kept")


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit_or_parallel_workers():
    """JIT compilation and starting parallel workers only add their own time to a
    page's queries."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("A PostgreSQL setting; the suite runs on PostgreSQL too.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
