"""A stop signal in the middle of a run with k6 split across two generators: real perfdash, real
Prometheus, two real k6 processes against the demo backend. Every generator process stops (looked
up by PID and by the launcher's process group, not by name), perfdash exits 130, and what is left
is valid: summary.json says interrupted, the generators' own summaries that were written are kept
and named in its artifact index."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from perfdash.ui.modals.artifacts_screen import list_artifacts
from tests.conftest import DemoService
from tests.prom_fixtures import PromStack
from tests.test_e2e_run import PERFDASH
from tests.test_generators_run import SCRIPT

pytestmark = pytest.mark.e2e


def _config(tmp: Path, prom_url: str) -> Path:
    config = tmp / "profiles.toml"
    config.write_text(f'''
[profiles.long]
description = "two k6 generators, longer than the test waits"
[profiles.long.k6]
script = "{SCRIPT}"
generators = 2
stages = [{{ duration = "2s", target = 2 }}, {{ duration = "60s", target = 2 }}]

[environments.staging]
kind = "external"
prometheus_url = "{prom_url}"
''', encoding="utf-8")
    return config


def _generators(root: psutil.Process) -> list[psutil.Process]:
    """The k6 generator processes under perfdash (by their segment flag), and nothing else."""
    found = []
    for p in root.children(recursive=True):
        try:
            if "--execution-segment" in p.cmdline():
                found.append(p)
        except psutil.Error:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Run:
    """`perfdash run --headless` with two generators, up to the moment both k6 processes run."""

    def __init__(self, tmp: Path, demo: DemoService, prom: PromStack) -> None:
        self.tmp = tmp
        self.results = tmp / "res"
        env = {**os.environ, "PERF_BASE_URL": demo.base_url, "PERF_API_TOKEN": demo.token.reveal(),
               "PERF_DATABASE_URL": demo.database_url.reveal()}
        self._out = (tmp / "out.log").open("wb")
        self.proc = subprocess.Popen(
            [PERFDASH, "run", "--profile", "long", "--env", "staging", "--headless",
             "--config", str(_config(tmp, prom.url)), "--project", str(tmp),
             "--results-dir", str(self.results)],
            stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.pgid = 0
        try:
            self._wait_for_generators()
        except BaseException:
            self.close()
            raise

    def _wait_for_generators(self) -> None:
        perfdash = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 40
        gens: list[psutil.Process] = []
        while time.monotonic() < deadline and len(gens) < 2:
            assert self.proc.poll() is None, self.log()
            gens = _generators(perfdash)
            time.sleep(0.2)
        assert len(gens) == 2, self.log()
        time.sleep(3.0)  # some load, and some samples in Prometheus
        launcher = gens[0].parent()
        assert launcher is not None
        assert "perfdash.tools.k6.launcher" in " ".join(launcher.cmdline())
        self.pids = [g.pid for g in gens]
        self.launcher = launcher.pid
        self.pgid = os.getpgid(launcher.pid)
        assert {os.getpgid(p) for p in self.pids} == {self.pgid}, "generators in the launcher's group"

    def log(self) -> str:
        return (self.tmp / "out.log").read_text()[-3000:]

    def close(self) -> None:
        """Whatever the test found, nothing it started runs on: perfdash, then (only if they
        outlived it, which the test has already recorded) the launcher's group."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.pgid > 0 and _group_alive(self.pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        self._out.close()

    def left(self) -> list[int]:
        return [p for p in [*self.pids, self.launcher] if _alive(p)]

    def run_dir(self) -> Path:
        return next(p for p in self.results.iterdir() if p.is_dir())


@pytest.mark.timeout(90)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_stops_every_generator_and_keeps_valid_artifacts(
        sig: signal.Signals, demo_service: DemoService, prom_stack: PromStack,
        tmp_path: Path) -> None:
    run = _Run(tmp_path, demo_service, prom_stack)
    try:
        started = time.monotonic()
        run.proc.send_signal(sig)
        code = run.proc.wait(timeout=40)
        stopped_s = time.monotonic() - started
        left, group = run.left(), _group_alive(run.pgid)
    finally:
        run.close()
    assert code == 130, run.log()
    assert left == [], "a generator outlived the run"
    assert not group, "the launcher's process group outlived the run"

    run_dir = run.run_dir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["exit_code"] == 130
    assert summary["run"]["interrupted"] is True
    # every generator summary that was written is valid JSON, kept, and named in the index
    kept = sorted(run_dir.glob("k6-long.gen-*.json"))
    for path in kept:
        assert isinstance(json.loads(path.read_text()), dict), path.name
    index = summary["artifacts"]
    named = {e["path"] for role, e in index.items() if role.startswith("k6_summary.gen-")}
    assert named == {p.name for p in kept}
    assert all(index[f"k6_summary.{p.name.split('.')[1]}"]["exists"] for p in kept)
    assert index["k6_generators"]["exists"]
    # `perfdash show` computes the index again from the directory; the `o` list shows the files
    shown = subprocess.run([PERFDASH, "show", "--json", str(run_dir)], capture_output=True,
                           text=True, timeout=60, check=False)
    again = json.loads(shown.stdout)["artifacts"]
    assert {e["path"] for r, e in again.items() if r.startswith("k6_summary.gen-")} == named
    assert {p.name for p in kept} <= {p.name for p, _ in list_artifacts(run_dir)}
    # the stop was prompt and the generators were asked to stop, not killed outright
    assert stopped_s < 20, stopped_s
    assert len(kept) == 2, f"{sig.name}: k6 writes its summary when asked to stop: {run.log()}"
    print(f"{sig.name}: stopped in {stopped_s:.1f} s; kept {[p.name for p in kept]}; "
          f"k6 stopped_by {summary['tools']['k6'].get('stopped_by')}")


@pytest.mark.timeout(90)
def test_perfdash_killed_outright_leaves_no_generator_running(
        demo_service: DemoService, prom_stack: PromStack, tmp_path: Path) -> None:
    """SIGKILL reaches nobody but perfdash: the launcher hears of it through the parent-death
    signal and asks its generators to stop, so none runs on for the rest of the test."""
    run = _Run(tmp_path, demo_service, prom_stack)
    try:
        run.proc.kill()
        run.proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (run.left() or _group_alive(run.pgid)):
            time.sleep(0.2)
        left, group = run.left(), _group_alive(run.pgid)
    finally:
        run.close()
    assert left == [], "a generator outlived perfdash"
    assert not group
    kept = sorted(run.run_dir().glob("k6-long.gen-*.json"))
    assert [p.name for p in kept] == ["k6-long.gen-1.json", "k6-long.gen-2.json"]
    for path in kept:
        assert isinstance(json.loads(path.read_text()), dict), path.name
