"""perfdash's signal policy (perfdash/run/signals.py) with real processes, signalled the way a shell
and a terminal signal them: `perfdash demo` started as a background job of a script (so it inherits
SIGINT ignored), `kill -INT/-TERM/-HUP/-KILL`, and `tmux kill-session` on the dashboard.

Every stop signal at every moment ends with exit 130, summary.json "interrupted" and nothing of the
run left running; SIGKILL leaves only the PostgreSQL cluster, which `perfdash cleanup --stale`
removes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from perfdash.demo.stale import process_start_time
from perfdash.run import signals

from .conftest import ROOT
from .test_dashboard_e2e import Terminal, terminals  # noqa: F401 - the fixture
from .test_faults import processes_mentioning

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")

# Interrupted runs cost nothing extra for a long plan: the load lasts until the signal.
PROFILES = f"""
[profiles.k6only]
description = "k6 alone, one VU, for the signal tests"
[profiles.k6only.k6]
script = "{ROOT}/k6/demo-api.js"
stages = [{{ duration = "60s", target = 1 }}]

[profiles.both]
description = "k6 and Artillery, for the SIGKILL test"
[profiles.both.k6]
script = "{ROOT}/k6/demo-api.js"
stages = [{{ duration = "60s", target = 1 }}]
[profiles.both.artillery]
script = "{ROOT}/artillery/demo-scenario.yml"
phases = [{{ duration = 60, arrivalRate = 1 }}]
"""


class Demo:
    """`perfdash demo --headless` as a background job of `bash -c` (SIGINT ignored, as a script's
    `cmd &` starts it); bash's exit code is perfdash's (`wait $!`)."""

    def __init__(self, tmp_path: Path, profile: str = "k6only") -> None:
        self.results = tmp_path / "results"
        self.state = tmp_path / "state"
        cfg = tmp_path / "profiles.toml"
        cfg.write_text((ROOT / "profiles.toml").read_text() + PROFILES)
        self.env = {**os.environ, "PERFDASH_STATE_DIR": str(self.state)}
        cmd = (f"{PERFDASH} demo --headless --profile {profile} --config {cfg} "
               f"--results-dir {self.results}")
        self.shell = subprocess.Popen(
            ["bash", "-c", f"{cmd} > {tmp_path}/out.txt 2>&1 & echo $!; wait $!"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True)
        assert self.shell.stdout is not None
        self.pid = int(self.shell.stdout.readline())
        self.out = tmp_path / "out.txt"

    def wait_for(self, what: Callable[[], object], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, self.out.read_text()[-2000:]
            time.sleep(0.05)

    def run_dir(self) -> Path:
        return next(self.results.iterdir())

    def loading(self) -> bool:
        return self.results.exists() and any(self.results.glob("*/k6-progress.ndjson"))

    def clusters(self) -> list[str]:
        return [json.loads(m.read_text())["cluster_dir"]
                for m in (self.state / "clusters").glob("*.json")]

    def kill(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)  # what `kill -SIG $!` does

    def finish(self) -> int:
        return self.shell.wait(90)


def assert_interrupted_and_nothing_left(demo: Demo, clusters: list[str]) -> dict[str, Any]:
    run_dir = demo.run_dir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["exit_code"] == 130
    assert processes_mentioning(str(run_dir)) == [], "k6 or the demo backend survived"
    for cluster in clusters:
        assert processes_mentioning(cluster) == [], "the run's PostgreSQL survived"
        assert not Path(cluster).exists(), "the cluster's directory was left"
    assert demo.clusters() == [], "a marker was left after a clean stop"
    assert "Traceback" not in demo.out.read_text()
    return summary


@pytest.mark.parametrize(("moment", "signals"), [
    ("load", ["INT"]),                   # kill -INT of a background job: SIGINT was inherited ignored
    ("load", ["HUP"]),                   # the terminal went away
    ("stack", ["TERM"]),                 # while PostgreSQL and the backend start
    ("load", ["TERM", "TERM", "TERM"]),  # again and again while it cleans up
], ids=["int-background-job", "hup", "term-during-stack-start", "term-thrice-during-cleanup"])
def test_a_stop_signal_ends_130_with_a_summary_and_nothing_left(
        tmp_path: Path, moment: str, signals: list[str]) -> None:
    demo = Demo(tmp_path)
    if moment == "stack":
        demo.wait_for(lambda: demo.state.exists() and demo.clusters())
    else:
        demo.wait_for(demo.loading)
    clusters = demo.clusters()
    assert clusters
    for i, name in enumerate(signals):
        if i:
            time.sleep(0.3)  # the first one has started the cleanup by now
        demo.kill(signal.Signals[f"SIG{name}"])
    assert demo.finish() == 130, demo.out.read_text()[-3000:]
    summary = assert_interrupted_and_nothing_left(demo, clusters)
    text = demo.out.read_text()
    assert "interrupted" in text
    assert "could not start" not in text
    if moment == "stack":
        assert not any(c["status"] == "pass" for c in summary["checks"])
    if len(signals) > 1:
        assert "received while stopping" in text
        assert "received while stopping" in (demo.run_dir() / "perfdash.log").read_text()


def test_closing_the_terminal_of_the_dashboard_stops_the_run_like_sigterm(
        tmp_path: Path, terminals: list[Terminal]) -> None:  # noqa: F811 - the fixture
    results, state = tmp_path / "results", tmp_path / "state"
    cfg = tmp_path / "profiles.toml"
    cfg.write_text((ROOT / "profiles.toml").read_text() + PROFILES)
    term = Terminal(f"{PERFDASH} demo --profile k6only --config {cfg} --results-dir {results}",
                    {"PERFDASH_STATE_DIR": str(state)})
    terminals.append(term)
    term.wait_for(lambda s: "s left" in s, 60, "the load running")
    perfdash = next(p for p in psutil.process_iter(["cmdline"])
                    if (p.info["cmdline"] or [""])[-1] == str(results))
    clusters = [json.loads(m.read_text())["cluster_dir"] for m in state.glob("clusters/*.json")]
    subprocess.run(["tmux", "kill-session", "-t", term.name], check=True)
    perfdash.wait(30)
    run_dir = next(results.iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    assert "SIGHUP" in (run_dir / "perfdash.log").read_text() or \
        "stop request" in (run_dir / "perfdash.log").read_text()
    assert processes_mentioning(str(run_dir)) == []
    assert clusters
    assert all(processes_mentioning(c) == [] and not Path(c).exists()
                            for c in clusters)


def test_sigkill_leaves_only_the_cluster_and_cleanup_stale_removes_it(tmp_path: Path) -> None:
    demo = Demo(tmp_path, "both")
    demo.wait_for(demo.loading)
    run_dir = demo.run_dir()
    demo.wait_for(lambda: any("artillery" in " ".join(p.cmdline())
                              for p in processes_mentioning(str(run_dir))))
    children = processes_mentioning(str(run_dir))
    names = " ".join(" ".join(p.cmdline()) for p in children)
    assert "k6 run" in names
    assert "artillery" in names
    assert "perfdash.demo.server" in names
    [cluster] = demo.clusters()
    demo.kill(signal.SIGKILL)
    assert demo.finish() == 128 + signal.SIGKILL
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], f"still running 5 s after perfdash died: {alive}"
    assert processes_mentioning(cluster), "PostgreSQL runs as another user: it outlives perfdash"

    # A marker whose perfdash is still running (this test) is left alone.
    live_dir = tmp_path / "perfdash-pg-alive"
    live_dir.mkdir()
    live = demo.state / "clusters" / "perfdash-pg-alive.json"
    live.write_text(json.dumps({"owner_pid": os.getpid(),
                                "owner_start": process_start_time(os.getpid()),
                                "cluster_dir": str(live_dir), "pg_ctl": "/bin/false",
                                "run_as": None}))
    out = subprocess.run([PERFDASH, "cleanup", "--stale"], env=demo.env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"removed: stopped PostgreSQL \(pid \d+\), removed {cluster}", out.stdout)
    assert f"kept: {live_dir}" in out.stdout
    assert processes_mentioning(cluster) == []
    assert not Path(cluster).exists()
    assert live.exists()
    assert live_dir.exists()
    again = subprocess.run([PERFDASH, "cleanup", "--stale"], env=demo.env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert "nothing stale" in again.stdout


def test_a_signal_raised_where_it_is_dropped_is_still_known() -> None:
    """An at-fork hook (logging registers one) prints an exception and goes on: the wait loop
    learns from `raised()` that a stop signal came, and raises it again."""
    previous = signals.install()
    try:
        assert signals.raised() is None
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here and raises
        except signals.Interrupted:
            pass  # dropped, as an at-fork hook drops it
        assert signals.raised() == "SIGTERM"
        assert signals.shielded()
        signals.install()  # a new run starts clean
        assert signals.raised() is None
    finally:
        signals.restore(previous)
