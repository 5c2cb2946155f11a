"""The dashboard end to end, driven as a person would: `perfdash demo` in a real terminal (tmux),
the result view, the screenshot key, and stopping a run with Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from .conftest import ROOT, DemoService
from .test_faults import assert_artifacts_valid, config, processes_mentioning

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")


class Terminal:
    """A tmux session running one command at a fixed size."""

    def __init__(self, command: str, env: dict[str, str] | None = None) -> None:
        self.name = f"pd-{uuid.uuid4().hex[:8]}"
        self.done = Path(f"/tmp/{self.name}.exit")
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        script = f"cd {ROOT} && {exports} {command}; echo $? > {self.done}; sleep 600"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "48",
                        script], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=False).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.3)
        ended = f"perfdash exited with {self.done.read_text().strip()}" if self.done.exists() \
            else "perfdash still running"
        raise AssertionError(f"timed out waiting for {what} ({ended}); screen:\n{self.screen()}")

    def exit_code(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while not self.done.exists():
            assert time.monotonic() < deadline, f"perfdash did not exit; screen:\n{self.screen()}"
            time.sleep(0.2)
        return int(self.done.read_text().strip())

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)
        self.done.unlink(missing_ok=True)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def test_demo_in_a_terminal_ends_on_the_result_view_and_screenshots_it(
        tmp_path: Path, terminals: list[Terminal]) -> None:
    results = tmp_path / "results"
    page = tmp_path / "github-step-summary.md"  # on GitHub Actions, the job's page
    page.write_text("earlier step\n")
    # PYTHONPATH: the checkout under test, whichever one the venv's perfdash was installed from
    term = Terminal(f"{PERFDASH} demo --results-dir {results}",
                    env={"GITHUB_STEP_SUMMARY": str(page), "PYTHONPATH": str(ROOT)})
    terminals.append(term)
    live = term.wait_for(lambda s: "app log" in s and "k6" in s, 60, "the live screen")
    assert "perfdash" in live
    term.wait_for(lambda s: "PASS (exit 0)" in s or "FAIL (exit" in s, 120, "the result view")
    term.keys("s")
    shown = term.wait_for(lambda s: "screenshot saved" in s, 20, "the screenshot notification")
    run_dir = next(results.iterdir())
    svgs = list(run_dir.glob("screenshot-*.svg"))
    assert len(svgs) == 1
    assert "screenshot-result-" in shown  # the notification names where it went
    svg = svgs[0].read_text()
    status = json.loads((run_dir / "summary.json").read_text())["status"].upper()
    assert status in svg
    assert "k6&#160;http_req_duration&#160;p(95)" in svg or "http_req_duration" in svg
    assert list(run_dir.glob("screenshot-*.png")), "a PNG beside the SVG"
    term.keys("q")
    assert term.exit_code() == json.loads((run_dir / "summary.json").read_text())["exit_code"]
    # after the dashboard closes, the verdict goes to the job's page too, after what was there
    added = page.read_text().removeprefix("earlier step\n")
    assert added != page.read_text()
    assert "perfdash smoke on demo" in added
    assert f"Run directory: `{run_dir}`" in added


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopping_a_run_from_the_dashboard_keeps_artifacts_and_leaves_nothing(
        demo_service: DemoService, tmp_path: Path, terminals: list[Terminal], how: str) -> None:
    results = tmp_path / "results"
    env = {"PERF_BASE_URL": demo_service.base_url,
           "PERF_DATABASE_URL": demo_service.database_url.reveal(),
           "PERF_API_TOKEN": demo_service.token.reveal()}
    cfg = config(tmp_path, k6_s=60, art_s=60)
    term = Terminal(f"{PERFDASH} run --profile quick --env local --config {cfg} "
                    f"--results-dir {results}", env)
    terminals.append(term)
    term.wait_for(lambda s: "s left" in s, 60, "the tools running")
    run_dir = next(results.iterdir())
    assert processes_mentioning(str(run_dir)), "k6 and Artillery are running"
    started = time.monotonic()
    if how == "ctrl-c":
        term.keys("C-c")
        term.wait_for(lambda s: "Stop and quit" in s, 10, "the quit question")
        term.keys("y")
    else:
        pid = next(p.pid for p in psutil.process_iter(["cmdline"])
                   if any(a.endswith("/perfdash") for a in p.info["cmdline"] or [])
                   and str(results) in " ".join(p.info["cmdline"] or []))
        os.kill(pid, signal.SIGTERM)
    while processes_mentioning(str(run_dir)):
        assert time.monotonic() - started < 8, "tools still running"
        time.sleep(0.1)
    assert term.exit_code() == 130
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert_artifacts_valid(run_dir)
