"""Faults and bad input with the real tools: nothing lost, nothing leaked, no orphans.

Each test drives the real `perfdash` entry point, injects the fault from outside (a signal, a killed
process, a stopped database, a full disk) and checks the exit code, the one-sentence explanation,
the validity of every artifact, and that no process of the run survives.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from .conftest import ROOT, DemoService

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")

QUICK_PROFILE = """
[profiles.quick]
description = "a short run for fault tests"
[profiles.quick.k6]
script = "k6/demo-api.js"
stages = [{ duration = "2s", target = 2 }, { duration = "%(k6_s)ds", target = 2 }]
[profiles.quick.artillery]
script = "%(artillery)s"
phases = [{ duration = %(art_s)d, arrivalRate = 2 }]
[profiles.quick.thresholds.k6]
"http_req_duration" = ["p(95)<2000"]
"checks" = ["rate>=0.9"]
[profiles.quick.thresholds.artillery]
"http.response_time" = ["p95<2000"]
"vusers.failed" = ["count<1000"]
"""


def config(tmp_path: Path, *, k6_s: int = 8, art_s: int = 8,
           artillery: str = "artillery/demo-scenario.yml") -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text((ROOT / "profiles.toml").read_text() + QUICK_PROFILE % {
        "k6_s": k6_s, "art_s": art_s, "artillery": artillery})
    return path


def run_dir_of(results: Path) -> Path:
    return next(p for p in results.iterdir() if p.is_dir())


def processes_mentioning(needle: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != "zombie" and needle in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_for_process(needle: str, name: str, timeout: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes_mentioning(needle):
            try:
                if name in " ".join(proc.cmdline()):
                    return proc
            except psutil.Error:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no {name} process for {needle}")


@dataclass
class Live:
    """A perfdash run in the background, with its results directory."""

    proc: subprocess.Popen[str]
    results: Path

    def run_dir(self, timeout: float = 30) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dirs = [p for p in self.results.iterdir() if p.is_dir()] if self.results.exists() else []
            if dirs:
                return dirs[0]
            time.sleep(0.05)
        raise AssertionError("no run directory appeared")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out


def start(args: list[str], results: Path, env: dict[str, str] | None = None) -> Live:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    proc = subprocess.Popen([PERFDASH, *args, "--headless", "--results-dir", str(results)],
                            cwd=ROOT, env={**clean, **(env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return Live(proc, results)


def local_env(service: DemoService) -> dict[str, str]:
    return {"PERF_BASE_URL": service.base_url,
            "PERF_DATABASE_URL": service.database_url.reveal(),
            "PERF_API_TOKEN": service.token.reveal()}


def assert_artifacts_valid(run_dir: Path) -> None:
    """Every JSON file parses, every CSV row is complete, no temporary file is left behind."""
    for path in run_dir.iterdir():
        assert not path.name.endswith(".tmp"), f"half-written {path.name}"
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            rows = list(csv.reader(path.open()))
            assert all(len(r) == len(rows[0]) for r in rows[:-1]), path.name
        elif path.suffix == ".ndjson":
            lines = path.read_text().splitlines()
            for line in lines[:-1]:
                json.loads(line)


@pytest.fixture
def results(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "results"
    yield path
    if path.exists():
        for d in path.iterdir():
            assert processes_mentioning(str(d)) == [], "a process of the run survived"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_tools_keeps_artifacts_exits_130(
        demo_service: DemoService, tmp_path: Path, results: Path, sig: signal.Signals) -> None:
    live = start(["run", "--profile", "quick", "--env", "local",
                  "--config", str(config(tmp_path, k6_s=40, art_s=40))], results,
                 local_env(demo_service))
    run_dir = live.run_dir()
    wait_for_process(str(run_dir), "--summary-export")  # `k6 run`, not the plan's inspect
    wait_for_process(str(run_dir), "artillery")
    progress = run_dir / "artillery-progress.ndjson"
    deadline = time.monotonic() + 40
    while not (progress.exists() and '"http.response_time"' in progress.read_text()):
        assert time.monotonic() < deadline, "Artillery wrote no progress line with HTTP timings"
        time.sleep(0.2)
    signalled = time.monotonic()
    live.proc.send_signal(sig)
    while processes_mentioning(str(run_dir)):
        assert time.monotonic() - signalled < 5, "k6 and Artillery still running after 5 s"
        time.sleep(0.05)
    code, out = live.finish()
    assert code == 130, out
    assert_artifacts_valid(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert not (run_dir / "artillery-quick.json").exists()  # Artillery writes none when stopped
    art = [c for c in summary["checks"] if c["id"].startswith("artillery.http.response_time")]
    assert art[0]["value"] is not None, "the recorded progress gives a partial picture"
    assert "from recorded progress" in art[0]["detail"] or "progress" in art[0]["detail"]
    assert summary["tools"]["k6"]["stopped_by"] == "SIGINT"
    assert "interrupted" in out
    assert "INTERRUPTED" in out


def test_k6_killed_mid_run_is_not_measured_and_exit_3(
        demo_service: DemoService, tmp_path: Path, results: Path) -> None:
    live = start(["run", "--profile", "quick", "--env", "local",
                  "--config", str(config(tmp_path, k6_s=15, art_s=6))], results,
                 local_env(demo_service))
    run_dir = live.run_dir()
    k6 = wait_for_process(str(run_dir), "--summary-export")  # `k6 run`, not preflight's inspect
    time.sleep(3)
    k6.kill()
    code, out = live.finish()
    assert code == 3, out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    k6_checks = [c for c in summary["checks"] if c["id"].startswith("k6.")]
    assert k6_checks
    assert all(c["status"] == "not measured" for c in k6_checks)
    assert all("killed by signal 9" in c["detail"] for c in k6_checks)
    art = [c for c in summary["checks"] if c["id"].startswith("artillery.")]
    assert any(c["status"] == "pass" for c in art), "Artillery was still measured"
    assert "k6 was killed by signal 9" in out
    assert_artifacts_valid(run_dir)


def test_artillery_failing_to_start_is_explained(
        demo_service: DemoService, tmp_path: Path, results: Path) -> None:
    # Valid YAML that Artillery itself refuses when it starts (its processor does not exist).
    broken = tmp_path / "broken.yml"
    broken.write_text('config:\n  target: "http://127.0.0.1:9"\n  processor: "./does-not-exist.js"\n'
                      'scenarios:\n  - flow:\n      - get:\n          url: "/"\n')
    live = start(["run", "--profile", "quick", "--env", "local",
                  "--config", str(config(tmp_path, k6_s=4, artillery=str(broken)))], results,
                 local_env(demo_service))
    code, out = live.finish()
    run_dir = live.run_dir()
    assert code == 3, out
    summary = json.loads((run_dir / "summary.json").read_text())
    art = [c for c in summary["checks"] if c["id"].startswith("artillery.")
           and c["id"] != "artillery.http_5xx"]
    assert art
    assert all(c["status"] == "not measured" for c in art)
    assert summary["tools"]["artillery"]["returncode"] != 0
    problem = next(p for p in summary["problems"] if "Artillery exited" in p["what"])
    assert "artillery.stderr.log" in problem["fix"]
    assert any(c["id"].startswith("k6.") and c["status"] == "pass" for c in summary["checks"])


def _demo(tmp_path: Path, results: Path, k6_s: int = 40) -> Live:
    return start(["demo", "--profile", "quick", "--config",
                  str(config(tmp_path, k6_s=k6_s, art_s=k6_s))], results)


def test_backend_killed_mid_run_ends_the_run_exit_3(tmp_path: Path, results: Path) -> None:
    live = _demo(tmp_path, results)
    run_dir = live.run_dir()
    wait_for_process(str(run_dir), "--summary-export")  # `k6 run`, not the plan's inspect
    time.sleep(2)
    backend = wait_for_process(str(run_dir), "perfdash.demo.server")
    backend.kill()
    started = time.monotonic()
    code, out = live.finish()
    assert code == 3, out
    assert time.monotonic() - started < 30, "the run should stop soon after the backend died"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert any("backend stopped serving" in p["what"] for p in summary["problems"])
    assert "backend stopped serving during the run" in out
    assert_artifacts_valid(run_dir)


def test_postgres_stopped_mid_run_is_reported_exit_3(tmp_path: Path, results: Path) -> None:
    live = _demo(tmp_path, results)
    run_dir = live.run_dir()
    wait_for_process(str(run_dir), "--summary-export")  # `k6 run`, not the plan's inspect
    log = (run_dir / "perfdash.log").read_text()
    cluster = re.search(r"throwaway PostgreSQL on \S+ in (\S+)", log)
    assert cluster
    time.sleep(2)
    postmaster = wait_for_process(cluster[1], "postgres")
    postmaster.send_signal(signal.SIGINT)  # fast shutdown, as `pg_ctl stop -m fast` does
    code, out = live.finish()
    assert code == 3, out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert "database unreachable" in out
    # The report needs the end snapshot; the connection peak was sampled before the outage.
    db_checks = [c for c in summary["checks"] if c["id"] in ("db.slow_queries", "db.seq_scans")]
    assert len(db_checks) == 2
    assert all(c["status"] == "not measured" for c in db_checks)
    assert_artifacts_valid(run_dir)
    assert processes_mentioning(cluster[1]) == []


def test_two_runs_at_once_get_their_own_directories(
        demo_service: DemoService, tmp_path: Path, results: Path) -> None:
    cfg = str(config(tmp_path, k6_s=3, art_s=3))
    runs = [start(["run", "--profile", "quick", "--env", "local", "--config", cfg], results,
                  local_env(demo_service)) for _ in range(2)]
    codes = [r.finish()[0] for r in runs]
    dirs = sorted(p for p in results.iterdir() if p.is_dir())
    assert len(dirs) == 2
    for d in dirs:
        summary = json.loads((d / "summary.json").read_text())
        assert summary["run_id"] == d.name
        assert_artifacts_valid(d)
    assert sorted(json.loads((d / "summary.json").read_text())["exit_code"] for d in dirs) == \
        sorted(codes)


def test_unwritable_results_directory_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    out = subprocess.run([PERFDASH, "demo", "--headless", "--results-dir", str(blocker / "r")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 3
    assert "cannot create the results directory" in out.stderr
    assert "Traceback" not in out.stderr


def test_full_disk_is_a_clear_error_and_nothing_half_written(tmp_path: Path) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)],
                      check=False).returncode != 0:
        pytest.fail("cannot mount a tmpfs here (needs root)")
    try:
        out = subprocess.run([PERFDASH, "demo", "--headless", "--profile", "quick",
                              "--config", str(config(tmp_path, k6_s=6, art_s=6)),
                              "--results-dir", str(mount)],
                             cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
        assert out.returncode == 3, out.stdout[-3000:] + out.stderr
        assert "No space left" in out.stdout + out.stderr or "space" in out.stderr
        assert "Traceback" not in out.stderr
        for run_dir in mount.iterdir():
            assert_artifacts_valid(run_dir)
            summary = run_dir / "summary.json"
            if summary.exists():
                assert json.loads(summary.read_text())["status"] != "pass"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_broken_artillery_yaml_is_refused_before_any_load(
        demo_service: DemoService, tmp_path: Path, results: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("config:\n  target: [unclosed\nscenarios: nope\n")
    live = start(["run", "--profile", "quick", "--env", "local",
                  "--config", str(config(tmp_path, k6_s=4, artillery=str(broken)))], results,
                 local_env(demo_service))
    code, out = live.finish()
    run_dir = live.run_dir()
    assert code == 3, out
    assert "[FAIL] Artillery script accepted: broken.yml line" in out
    assert "is not valid YAML" in out
    assert not (run_dir / "k6.stdout.log").exists(), "no load may start"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "incomplete"
