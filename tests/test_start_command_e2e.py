"""A foreign project whose start script backgrounds its server and exits 0, run through perfdash's CLI
entry point with real k6: the run starts it, waits for its health route, loads it, and its stop
script stops it after. `doctor` on the same project, with the server down, does not fail on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfdash.net import probe

from .conftest import ROOT
from .daemon_project import DaemonProject, alive, make_daemon_project

_K6 = """\
import http from "k6/http";
import { check, sleep } from "k6";
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/health?from=k6`);
  check(res, { "200": (r) => r.status === 200 });
  sleep(0.1);
}
"""


def _configure(project: DaemonProject, stop: str | None) -> Path:
    (project.root / "load.js").write_text(_K6)
    stop_line = f"stop_command = {json.dumps(stop)}\n" if stop else ""
    (project.root / "profiles.toml").write_text(f"""
[defaults]
results_dir = "results"

[profiles.smoke]
description = "k6 only, a few seconds"
[profiles.smoke.k6]
script = "load.js"
stages = [{{ duration = "3s", target = 1 }}]

[environments.local]
description = "the mini project, started by perfdash"
kind = "external"
health_path = "/health"
protected = false
working_dir = "."
start_command = "./scripts/start.sh"
{stop_line}""")
    env_file = project.root / ".env.performance"
    env_file.write_text(f"PERF_BASE_URL={project.base_url}\n")
    return env_file


def _perfdash(project: DaemonProject, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    return subprocess.run([sys.executable, "-m", "perfdash", *args,
                           "--project", str(project.root)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
                          check=False)


@pytest.mark.slow  # k6
def test_a_run_starts_a_daemonising_backend_loads_it_and_stops_it_after(tmp_path: Path) -> None:
    project = make_daemon_project(tmp_path / "app")
    _configure(project, "./scripts/stop.sh")
    results = tmp_path / "results"
    try:
        out = _perfdash(project, "run", "--profile", "smoke", "--env", "local", "--headless",
                        "--results-dir", str(results))
        output = out.stdout + out.stderr
        assert "could not start" not in output, output[-3000:]
        [run_dir] = [p for p in results.iterdir() if p.is_dir()]
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["tools"]["k6"]["returncode"] == 0, summary["tools"]
        assert not [p for p in summary["problems"] if "backend" in p["what"]], summary["problems"]
        log = (run_dir / "perfdash.log").read_text()
        assert "`./scripts/start.sh` exited 0" in log
        assert "the backend perfdash started is stopped" in log
        # k6 reached the backend the start script left running...
        assert (project.root / "server.log").read_text().count("GET /health?from=k6") >= 3
        # ...and the stop script stopped it after: its pid file is gone, nothing answers
        assert not project.pid_file.exists(), log[-2000:]
        assert "stopped" in (run_dir / "backend-stop.stdout.log").read_text()
        assert probe(project.base_url + "/health", timeout_s=1)[0] is None
    finally:
        project.kill_server()


@pytest.mark.slow  # k6
def test_a_daemonised_backend_that_escaped_without_a_stop_command_is_reported_and_kept(
        tmp_path: Path) -> None:
    project = make_daemon_project(tmp_path / "app", escape=True)
    _configure(project, None)
    results = tmp_path / "results"
    try:
        out = _perfdash(project, "run", "--profile", "smoke", "--env", "local", "--headless",
                        "--results-dir", str(results))
        assert "could not start" not in out.stdout + out.stderr, out.stdout[-3000:]
        [run_dir] = [p for p in results.iterdir() if p.is_dir()]
        summary = json.loads((run_dir / "summary.json").read_text())
        pid = project.server_pid()
        [left] = [p for p in summary["problems"] if "was left running" in p["what"]]
        assert f"pid {pid} listens on port {project.port}" in left["what"]
        assert "set stop_command" in left["fix"]
        assert alive(pid), "the run killed a process it cannot know to be its own"
    finally:
        project.kill_server()


@pytest.mark.slow  # doctor runs k6 and node to check them
def test_doctor_with_a_start_command_says_the_run_will_start_the_backend(tmp_path: Path) -> None:
    project = make_daemon_project(tmp_path / "app")
    _configure(project, "./scripts/stop.sh")
    out = _perfdash(project, "doctor", "--env", "local")
    lines = out.stdout.splitlines()
    [backend] = [ln for ln in lines if "backend reachable" in ln]
    assert backend == (f"[skip] backend reachable: down at {project.base_url}/health; run will "
                       f"start it with `./scripts/start.sh` in {project.root}")
    failed = [ln for ln in lines if ln.startswith("[FAIL]")]
    assert (out.returncode == 3) == bool(failed), out.stdout + out.stderr  # the backend is not one
    assert probe(project.base_url + "/health", timeout_s=1)[0] is None  # doctor starts nothing
