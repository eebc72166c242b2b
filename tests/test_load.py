"""`make load`, short: a few seconds of mixed traffic and admin saves against `make
serve`, on a throwaway SQLite database, with no error and no lost save."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.servers import ROOT, clean_env, require

pytestmark = pytest.mark.load


def test_a_short_load_run_has_no_errors_and_loses_no_save(tmp_path):
    require(shutil.which("wrk") is not None, "wrk (make load-deps)")
    report = tmp_path / "load.json"
    env = clean_env(
        SQLITE_PATH=str(tmp_path / "load.sqlite3"),
        STATIC_ROOT=str(tmp_path / "static"),
    )

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "load_test",
            "--seconds",
            "3",
            "--warmup",
            "1",
            "--connections",
            "4",
            # Errors and lost saves fail this test, not a slow shared CI machine.
            "--timeout",
            "30s",
            "--json",
            str(report),
            "--log",
            str(tmp_path / "serve.log"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    log = (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{log}"
    figures = json.loads(report.read_text())
    assert figures["passed"]
    assert figures["wrk"]["requests"] > 0
    assert figures["editor"]["saved"] > 0
    assert figures["editor"]["lost"] == 0
    assert figures["editor"]["stale_reads"] == 0
