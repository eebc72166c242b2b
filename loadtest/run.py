"""`manage.py load_test`: public traffic and admin edits at once, against `make serve`.

1. Starts `make serve` on 127.0.0.1 and a free port (collectstatic, migrate, the demo
   case, gunicorn), on whatever database and cache the environment names, unless
   `--url` points at a server already running on this database.
2. Writes the mix of public URLs (timeline, filtered timelines, htmx fragments, event
   pages, CSV exports, overview, case list) and runs wrk with loadtest/mixed.lua.
3. Meanwhile an editor, a staff user created for the run, signs in to the admin and
   saves event change forms in a loop, each save appending a unique token to the
   event's summary. After each save it fetches the public event page with the ETag it
   held before: it must get the new page (not a 304, not a stale copy), and a 304 when
   it asks again with the new ETag.
4. Afterwards every token of every save the admin acknowledged must be in the database:
   a missing one is a lost save. The summaries are put back and the user deleted.

wrk (C, event loop) rather than locust: on a 2-core machine the load generator shares
the CPU with the server, and wrk drives thousands of requests a second from a sliver of
one core where a Python generator would take a core of its own. The editor needs a
session, a CSRF token and form parsing, which is easier in Python, and at a few saves a
second it costs little.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import close_old_connections
from django.urls import reverse

from casetracker.models import Case, CaseParty, Event

from .admin_session import AdminSession

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = Path(__file__).resolve().parent / "mixed.lua"
TOKEN = re.compile(r"\s*\[load-test [^\]]*\]")
# Share of each kind of request in the mix, in per mille.
MIX = {
    "timeline": 200,
    "timeline_party": 100,
    "timeline_kind": 80,
    "timeline_dates": 70,
    "timeline_fragment": 100,
    "event": 250,
    "csv": 100,
    "case": 50,
    "case_list": 50,
}
EDITED_EVENTS = 20


class LoadTestError(Exception):
    pass


@dataclass
class Options:
    seconds: float = 30
    warmup: float = 3
    connections: int = 16
    threads: int = 2
    timeout: str = "10s"
    case: str = "musk-v-openai"
    url: str = ""
    json_path: str = ""
    log_path: str = ""


@dataclass
class EditorReport:
    attempted: int = 0
    saved: int = 0
    failed: int = 0
    lost: int = 0
    stale_reads: int = 0
    not_revalidated: int = 0
    save_seconds: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    # (event pk, token) of every save the admin acknowledged
    tokens: list[tuple[int, str]] = field(default_factory=list)


# The server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_postgres_database() -> None:
    """Create the PostgreSQL database the settings name if it is missing."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg
    from psycopg import sql

    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"]))
            )


def start_server(port: int, log) -> subprocess.Popen:
    """`make serve` in a process group of its own, so it can be stopped as a whole."""
    # An outer make's flags (make test PORT=...) must not reach this one.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    }
    return subprocess.Popen(
        ["make", "-s", "serve", "HOST=127.0.0.1", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_healthy(url: str, server: subprocess.Popen | None, log_path: str):
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise LoadTestError(
                f"make serve exited with {server.returncode}:\n" + _tail(log_path)
            )
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise LoadTestError(
        "the server did not become healthy in time:\n" + _tail(log_path)
    )


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the group (gunicorn finishes its requests), SIGKILL if it hangs."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


def _tail(path: str, lines: int = 40) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# The traffic -------------------------------------------------------------------------


def request_mix(case: Case) -> list[str]:
    """1000 lines for mixed.lua, each kind of request in its share of MIX."""
    slug = case.slug
    timeline = reverse("case_timeline", kwargs={"case": slug})
    csv = reverse("case_timeline_csv", kwargs={"case": slug})
    events = list(Event.objects.filter(case=case).order_by("pk"))
    parties = sorted(
        set(CaseParty.objects.filter(case=case).values_list("party__slug", flat=True))
    )
    kinds = sorted({event.kind for event in events})
    years = sorted({event.date.year for event in events if event.date})
    if not (events and parties and kinds and years):
        raise LoadTestError(f"case {slug} has too little data to load-test")
    choices = {
        "timeline": [timeline],
        "timeline_party": [f"{timeline}?party={p}" for p in parties],
        "timeline_kind": [f"{timeline}?kind={k}" for k in kinds],
        "timeline_dates": [f"{timeline}?from={y}&to={y}" for y in years],
        "timeline_fragment": [
            f"{timeline}?kind={k}&party={p}\thtmx:timeline"
            for k in kinds
            for p in parties[:4]
        ],
        "event": [event.get_absolute_url() for event in events],
        "csv": [csv, *(f"{csv}?kind={k}" for k in kinds)],
        "case": [case.get_absolute_url()],
        "case_list": [reverse("case_list")],
    }
    lines = []
    for kind, share in MIX.items():
        urls = choices[kind]
        lines += [urls[i % len(urls)] for i in range(share)]
    return lines


def run_wrk(url: str, paths_file: str, options: Options, seconds: float) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise LoadTestError("wrk is not installed (make load-deps installs it)")
    command = [
        wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={options.timeout}",
        "-s",
        str(LUA_SCRIPT),
        url + "/",
    ]
    result = subprocess.run(
        command,
        env={**os.environ, "LOAD_PATHS": paths_file},
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    for line in result.stdout.splitlines():
        if line.startswith("LOADTEST_JSON "):
            return json.loads(line.removeprefix("LOADTEST_JSON "))
    raise LoadTestError(
        f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


# The editor --------------------------------------------------------------------------


def editor_loop(
    session: AdminSession,
    events: list[Event],
    run_id: str,
    deadline: float,
    report: EditorReport,
) -> None:
    """Save event change forms until the deadline, checking each save is public at once."""
    number = 0
    while time.monotonic() < deadline:
        event = events[number % len(events)]
        number += 1
        token = f"[load-test {run_id}#{number}]"
        public = event.get_absolute_url()
        change_url = reverse("admin:casetracker_event_change", args=[event.pk])
        report.attempted += 1
        try:
            before = session.request("GET", public)
            started = time.perf_counter()
            reply, error = session.save(
                change_url,
                "event_form",
                {"summary": lambda summary, token=token: f"{summary} {token}"},
            )
            if error:
                report.failed += 1
                report.errors[error[:200]] += 1
                continue
            report.saved += 1
            report.save_seconds.append(time.perf_counter() - started)
            report.tokens.append((event.pk, token))
            after = session.request(
                "GET", public, headers={"If-None-Match": before.headers.get("etag", "")}
            )
            if after.status != 200 or token not in after.body:
                report.stale_reads += 1
                continue
            again = session.request(
                "GET", public, headers={"If-None-Match": after.headers.get("etag", "")}
            )
            if again.status != 304:
                report.not_revalidated += 1
        except OSError as error:
            report.failed += 1
            report.errors[f"{error.__class__.__name__}: {error}"[:200]] += 1
            session.close()


def strip_tokens(events: list[Event]) -> None:
    """Remove tokens a previous, interrupted run left behind."""
    for event in events:
        clean = TOKEN.sub("", event.summary)
        if clean != event.summary:
            Event.objects.filter(pk=event.pk).update(summary=clean)
            event.summary = clean


def count_lost(report: EditorReport) -> int:
    """Acknowledged saves whose token is not in the database."""
    summaries = dict(
        Event.objects.filter(pk__in={pk for pk, _ in report.tokens}).values_list(
            "pk", "summary"
        )
    )
    return sum(token not in summaries.get(pk, "") for pk, token in report.tokens)


# The run -----------------------------------------------------------------------------


def run(options: Options, out) -> bool:
    """Run the load test and write the report to `out`; True when it passed."""
    log_file = None
    server = None
    workdir = tempfile.mkdtemp(prefix="casetracker-load-")
    log_path = options.log_path or os.path.join(workdir, "serve.log")
    try:
        url = options.url.rstrip("/")
        if not url:
            ensure_postgres_database()
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log_file = open(log_path, "w")  # noqa: SIM115 - closed in finally
            out.write(f"Starting make serve on {url} (log: {log_path}) ...\n")
            server = start_server(port, log_file)
        wait_until_healthy(url, server, log_path)
        close_old_connections()
        return _measure(url, options, workdir, out)
    finally:
        if server is not None:
            stop_server(server)
        if log_file is not None:
            log_file.close()
        if not options.log_path:
            shutil.rmtree(workdir, ignore_errors=True)


def _measure(url: str, options: Options, workdir: str, out) -> bool:
    case = Case.objects.get(slug=options.case)
    paths_file = os.path.join(workdir, "paths.txt")
    Path(paths_file).write_text("\n".join(request_mix(case)) + "\n")

    run_id = secrets.token_hex(4)
    password = secrets.token_urlsafe(24)
    editor = User.objects.create_user(
        f"load-editor-{run_id}", password=password, is_staff=True
    )
    editor.groups.add(Group.objects.get(name="Editors"))
    events = list(Event.objects.filter(case=case).order_by("pk")[:EDITED_EVENTS])
    strip_tokens(events)
    originals = {event.pk: event.summary for event in events}
    report = EditorReport()
    session = AdminSession(url)
    try:
        if options.warmup > 0:
            # Each worker loads templates and URLs on its first requests: not measured.
            out.write(f"Warming up for {options.warmup:g} s ...\n")
            run_wrk(url, paths_file, options, options.warmup)
        session.login(editor.username, password)
        deadline = time.monotonic() + options.seconds
        thread = threading.Thread(
            target=editor_loop,
            args=(session, events, run_id, deadline, report),
            daemon=True,
        )
        thread.start()
        figures = run_wrk(url, paths_file, options, options.seconds)
        thread.join(timeout=120)
        close_old_connections()
        report.lost = count_lost(report)
    finally:
        session.close()
        for pk, summary in originals.items():
            Event.objects.filter(pk=pk).update(summary=summary)
        editor.delete()
    return _report(url, options, figures, report, out)


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f} ms"


def _report(url, options, figures, report: EditorReport, out) -> bool:
    seconds = figures["duration_us"] / 1e6
    errors = {k: figures[k] for k in ("connect", "read", "write", "timeout", "status")}
    saves = sorted(report.save_seconds)
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    out.write(
        f"\nLoad test: {seconds:.1f} s against {url} ({database}, cache {cache}, "
        f"{options.connections} connections, {len(os.sched_getaffinity(0))} cores)\n"
        f"  requests      {figures['requests']} ({figures['requests'] / seconds:.1f}/s), "
        f"{figures['bytes'] / 1e6:.1f} MB\n"
        f"  latency       p50 {_ms(figures['p50_us'])}, p90 {_ms(figures['p90_us'])}, "
        f"p99 {_ms(figures['p99_us'])}, max {_ms(figures['max_us'])}\n"
        f"  errors        {sum(errors.values())} (non-2xx/3xx {errors['status']}, "
        f"connect {errors['connect']}, read {errors['read']}, write {errors['write']}, "
        f"timeout {errors['timeout']})\n"
        f"  admin saves   {report.attempted} attempted, {report.saved} succeeded, "
        f"{report.failed} failed, {report.lost} lost"
        + (f"; save p50 {saves[len(saves) // 2] * 1000:.0f} ms" if saves else "")
        + "\n"
        f"  after a save  {report.stale_reads} stale public pages, "
        f"{report.not_revalidated} missed 304s\n"
    )
    for error, count in report.errors.most_common(5):
        out.write(f"  save error    {count} x {error}\n")
    passed = (
        not any(errors.values())
        and report.saved > 0
        and not (report.failed or report.lost or report.stale_reads)
        and not report.not_revalidated
    )
    out.write("PASS\n" if passed else "FAIL\n")
    if options.json_path:
        editor = asdict(report)
        editor.pop("tokens")
        editor["errors"] = dict(report.errors)
        editor.pop("save_seconds")
        Path(options.json_path).write_text(
            json.dumps(
                {
                    "url": url,
                    "database": database,
                    "cache": cache,
                    "seconds": seconds,
                    "requests_per_second": figures["requests"] / seconds,
                    "wrk": figures,
                    "editor": editor,
                    "passed": passed,
                },
                indent=2,
            )
            + "\n"
        )
    return passed
