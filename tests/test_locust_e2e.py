"""Locust for real: its exit codes as `explain_exit` reads them (measured against a tiny backend
on 127.0.0.1), and two whole `perfdash run --headless` of the demo's locust-smoke profile against
the demo backend: the first read back from summary.json and timeline.csv, the second served with
--serve and followed by a headless attacher, then the two compared, as for k6."""

from __future__ import annotations

import csv
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.net import free_port
from perfdash.run.liveness import run_alive
from perfdash.tools import tool
from perfdash.tools.base import Target
from perfdash.tools.locust.command import run_argv
from perfdash.tools.locust.locate import find_locust
from perfdash.tools.locust.table import LocustOptions

from .conftest import ROOT

pytestmark = pytest.mark.slow

PERFDASH = [sys.executable, "-m", "perfdash"]
LOCUST = tool("locust")
LOCUSTFILE = """
from locust import HttpUser, constant, task

class U(HttpUser):
    wait_time = constant(0.05)

    @task
    def ok(self):
        self.client.get("/ok", name="/ok")

    @task
    def broken(self):
        self.client.get("/missing", name="/missing")
"""


class _Half(http.server.BaseHTTPRequestHandler):
    """200 for /ok, 404 for anything else."""

    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" else 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Half)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _locust() -> Path:
    """The binary; missing, the test fails (scripts/install.sh installs the extra): a skip would
    let CI go green without running the third tool."""
    found = find_locust(None, ROOT)
    if found.path is None or not found.ok:
        pytest.fail(f"Locust is not installed: {found.problem}")
    return found.path


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_exit_codes_are_what_explain_exit_says(tmp_path: Path, backend: str) -> None:
    locust = _locust()
    (tmp_path / "lf.py").write_text(LOCUSTFILE)
    options = LocustOptions(tmp_path / "lf.py", 2, 2.0, "3s", 3.0)
    failed = _run(run_argv(locust, options, tmp_path, "p", backend), tmp_path)
    assert failed.returncode == 3, failed.stderr[-2000:]  # ran, some requests failed
    assert LOCUST.explain_exit(failed.returncode).kind == "finished"
    checks = {c.id: c for c in LOCUST.checks(tmp_path, _profile(tmp_path, options), {"returncode": 3},
                                             None)}
    assert checks["locust.fail_ratio"].status == "fail"
    assert 0.2 < float(checks["locust.fail_ratio"].value or 0) < 0.8
    assert "404" in checks["locust.fail_ratio"].detail
    assert checks["locust.exit"].status == "pass"

    (tmp_path / "bad.py").write_text("this is not python(\n")
    broken = _run(run_argv(locust, LocustOptions(tmp_path / "bad.py", 1, 1.0, "2s", 2.0), tmp_path,
                           "q", backend), tmp_path)
    assert broken.returncode == 1
    assert LOCUST.explain_exit(1).kind == "error"
    usage = _run([str(locust), "-f", str(tmp_path / "lf.py"), "--headless", "-t", "2x"], tmp_path)
    assert usage.returncode == 2
    assert "locust: error" in usage.stderr
    assert "refused its command line" in (LOCUST.explain_exit(2).text or "")


def _profile(tmp_path: Path, options: LocustOptions):  # type: ignore[no-untyped-def]
    from perfdash.settings import Profile, ToolTable

    return Profile("p", "", "parallel", None, None, (), (), (), project_dir=tmp_path,
                   tool_tables={"locust": ToolTable(options.locustfile, options.run_time_s, options)})


RUN = [*PERFDASH, "run", "--headless", "--profile", "locust-smoke", "--env", "demo"]


@dataclass
class LocustRuns:
    first: Path
    first_out: str
    served: Path
    served_code: int
    served_out: str
    attacher: tuple[int, str, str]


def _run_dir(results: Path, out: str) -> Path:
    runs = sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []
    assert runs, out[-3000:]
    return runs[-1]


@pytest.fixture(scope="module")
def locust_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocustRuns]:
    _locust()
    tmp = tmp_path_factory.mktemp("locust")
    first = subprocess.run([*RUN, "--results-dir", str(tmp / "a")], cwd=ROOT, capture_output=True,
                           text=True, timeout=240, check=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    served = subprocess.Popen([*RUN, "--results-dir", str(tmp / "b"), "--serve",
                               f"127.0.0.1:{free_port()}"], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    attacher: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                run_alive(d) for d in (tmp / "b").glob("*") if d.is_dir()):
            time.sleep(0.05)
        attacher = subprocess.Popen([*PERFDASH, "attach", "--headless", "--results-dir",
                                     str(tmp / "b")], cwd=tmp, text=True, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE,
                                    env={**os.environ, "XDG_CACHE_HOME": str(tmp / "cache")})
        out, err = served.communicate(timeout=240)
        a_out, a_err = attacher.communicate(timeout=60)
        yield LocustRuns(_run_dir(tmp / "a", first.stdout + first.stderr), first.stdout,
                         _run_dir(tmp / "b", out + err), served.returncode, out + err,
                         (attacher.returncode, a_out, a_err))
    finally:
        for proc in (served, attacher):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_locust_smoke_through_the_cli_against_the_demo(locust_runs: LocustRuns) -> None:
    run_dir = locust_runs.first
    assert "locust started: about 15 s planned" in locust_runs.first_out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "pass"
    checks = {c["id"]: c for c in summary["checks"]}
    assert checks["locust.requests"]["status"] == "pass"
    assert checks["locust.requests"]["value"] > 50
    assert checks["locust.fail_ratio"]["status"] == "pass"
    assert checks["locust.fail_ratio"]["threshold"] == "<= 0.01"
    assert checks["locust.response_time.p95"]["status"] == "pass"
    assert checks["locust.exit"]["value"] == 0
    assert summary["tools"]["locust"]["returncode"] == 0
    rows = {r["endpoint"]: r["sources"] for r in summary["endpoints"]["rows"]}
    for route in ("/api/products", "/api/products/{}", "/api/customers/{}/orders"):
        assert rows[route]["locust"]["requests"] > 0, rows
        assert rows[route]["log"]["requests"] >= rows[route]["locust"]["requests"] * 0.9
    assert "locust" not in summary["endpoints"]["missing"]
    with (run_dir / "timeline.csv").open() as f:
        table = list(csv.DictReader(f))
    columns = [c for c, _, _ in LOCUST.timeline_columns]
    assert set(columns) <= set(table[0])
    rps = [float(r["locust_rps"]) for r in table if r["locust_rps"]]
    users = [float(r["locust_users"]) for r in table if r["locust_users"]]
    assert len(rps) >= 8
    assert max(rps) > 5
    assert max(users) == 4
    assert any(r["locust_p95_ms"] for r in table)
    events = (run_dir / "events.ndjson").read_text()
    assert '"type": "ToolProgressed", ' in events
    figures, problem = LOCUST.figures(run_dir, "locust-smoke")
    assert problem is None
    assert figures["locust.response_time.p95"] > 0
    show = subprocess.run([*PERFDASH, "show", str(run_dir)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert show.returncode == 0, show.stdout[-2000:] + show.stderr[-2000:]
    for name in ("Locust requests made", "Locust failed requests", "Locust p95 response time"):
        assert name in show.stdout
    plan = LOCUST.plan(Path("locust"), _profile(run_dir, LocustOptions(
        ROOT / "locust" / "locustfile.py", 1, 1.0, "1s", 1.0)), ROOT, run_dir, Target(None, None, None))
    assert plan.problem is None


def test_a_headless_attacher_follows_a_served_locust_run_to_its_verdict(locust_runs: LocustRuns
                                                                       ) -> None:
    assert locust_runs.served_code == 0, locust_runs.served_out[-3000:]
    code, out, err = locust_runs.attacher
    assert code == 0, out[-2000:] + err[-2000:]
    assert f"run {locust_runs.served.name}" in out
    assert re.search(r"locust \d+/15s users=\d+ req/s=", out), out[-3000:]  # the tool's progress
    assert "locust exited with code 0" in out
    assert "overall status: PASS" in out


def test_compare_judges_two_locust_runs_by_their_windows(locust_runs: LocustRuns) -> None:
    proc = subprocess.run([*PERFDASH, "compare", str(locust_runs.first), str(locust_runs.served)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = {line.split("│")[2].strip(): line for line in proc.stdout.splitlines()
             if line.count("│") > 4 and line.split("│")[2].strip()}
    for metric in ("Locust requests made", "Locust p95 response time",
                   "Locust requests per second"):
        assert metric in lines, proc.stdout[-3000:]
    assert "median window" in lines["Locust p95 response time"]
