"""Playwright on Debian's Chromium, against pytest-django's live server.

Under CI=true a missing Chromium or axe-core fails the run; elsewhere the browser tests
are skipped with the reason, so the rest of the suite still runs.
"""

import os
import threading
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

from casetracker.services import case_data_path, case_data_read, case_load

# Playwright's sync API runs an event loop in this thread; the ORM calls the live
# server and fixtures make are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    missing = [str(path) for path in (CHROMIUM, AXE) if not path.exists()]
    if not missing:
        return
    message = f"browser tests need {', '.join(missing)} (make test installs them)"
    if CI:
        raise pytest.UsageError(f"CI=true and {message}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, answering one request at a time, its body included.

    On SQLite the test database is in memory, and the live server's threads share
    its one connection; two requests at once (htmx replacing a request it aborted:
    the aborted one still runs on the server) made SQLite fail with "bad parameter
    or other API misuse". A production server gives each thread its own connection.
    """

    lock = threading.Lock()

    def set_app(self, application):
        def serial(environ, start_response):
            with self.lock:
                response = application(environ, start_response)
                try:
                    return [b"".join(response)]
                finally:
                    response.close()

        super().set_app(serial)


@pytest.fixture(scope="session", autouse=True)
def _serial_live_server_on_sqlite():
    if connection.vendor != "sqlite":
        yield
        return
    original = LiveServerThread.server_class
    LiveServerThread.server_class = OneRequestAtATimeServer
    yield
    LiveServerThread.server_class = original


@pytest.fixture
def demo_server(live_server, transactional_db):
    """The live server with the demo case loaded; returns its base URL."""
    case_load(data=case_data_read(case_data_path("musk-v-openai")))
    return live_server.url


@pytest.fixture
def console_errors(page):
    """Console errors (CSP violations included) and uncaught exceptions of the page.

    Every browser test that uses it ends by checking the list is empty.
    """
    errors: list[str] = []
    page.on(
        "console", lambda msg: errors.append(msg.text) if msg.type == "error" else None
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors
    assert _unexpected(errors) == []


def _unexpected(errors: list[str]) -> list[str]:
    """The errors, less htmx's report of each request it aborted on purpose: a
    filter changed while the last change loads replaces that request (hx-sync), and
    htmx logs the abort, and its afterRequest, as errors."""
    aborted = sum(e.startswith("htmx:sendAbort,") for e in errors)
    left, after_requests = [], aborted
    for error in errors:
        if error.startswith("htmx:sendAbort,"):
            continue
        if error.startswith("htmx:afterRequest,") and after_requests:
            after_requests -= 1
            continue
        left.append(error)
    return left


@pytest.fixture
def axe(page):
    """Run axe-core on the current page; returns its violations."""
    source = AXE.read_text(encoding="utf-8")

    def run() -> list[dict]:
        # A strict CSP blocks injected <script> tags; evaluating the source works.
        page.evaluate(source)
        result = page.evaluate("async () => await axe.run(document)")
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "nodes": [n["target"] for n in v["nodes"]],
            }
            for v in result["violations"]
        ]

    return run
