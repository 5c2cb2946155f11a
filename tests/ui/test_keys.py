"""Keys on both screens: help, artifacts and the file viewer, cleanup, screenshots, and quitting a
live run (confirm, stop, wait for the run to finish, exit with its code)."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.worker import Worker, WorkerState

from perfdash.events import Bus, RunFinished
from perfdash.ui import raster, screenshot
from perfdash.ui.app import make_app
from perfdash.ui.modals.artifacts_screen import ArtifactsScreen
from perfdash.ui.modals.file_viewer_screen import FileViewerScreen
from perfdash.ui.modals.help_screen import HelpScreen
from perfdash.ui.modals.quit_screen import QuitScreen
from perfdash.ui.result.result_screen import ResultScreen
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, FakeClock, recorded


def shown(static: Static) -> str:
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(static.content)
    return console.export_text()


async def test_help_lists_every_key() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = shown(app.screen.query_one("#help-text", Static))
        for key in ("s ", "o ", "c ", "/ ", "f ", "q "):
            assert f"\n{key}" in "\n" + text.replace("  ", " ")
        await pilot.press("escape")
        assert isinstance(app.screen, ResultScreen)


async def test_artifacts_list_sizes_and_open_a_file() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        screen = app.screen
        assert isinstance(screen, ArtifactsScreen)
        listing = screen.query_one(OptionList)
        names = [str(listing.get_option_at_index(i).prompt).split()[0]
                 for i in range(listing.option_count)]
        assert names[0] == "app.log"
        assert "summary.json" in names
        assert "KB" in str(listing.get_option_at_index(names.index("summary.json")).prompt)
        await pilot.press("enter")
        viewer = app.screen
        assert isinstance(viewer, FileViewerScreen)
        assert viewer.path.name == "app.log"
        assert "INFO  listening on http://127.0.0.1:" in shown(viewer.query_one(Static))
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ResultScreen)


async def test_screenshot_goes_into_the_run_directory(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(PASS_RUN, run_dir)
    app = make_app(summary_dir=run_dir)
    notes: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append((message, kw)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    svgs = list(run_dir.glob("screenshot-result-*.svg"))
    assert len(svgs) == 1
    assert "PASS" in svgs[0].read_text()
    png = svgs[0].with_suffix(".png")
    assert png.read_bytes().startswith(screenshot.PNG_SIGNATURE)
    message, kw = notes[-1]
    assert kw["title"] == "screenshot saved"
    assert str(svgs[0]) in message
    assert f"{png} (80×24 cells in " in message
    assert kw["severity"] == "information"


async def test_without_a_font_the_svg_is_kept_and_the_reason_given(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(PASS_RUN, run_dir)
    monkeypatch.setattr(raster, "find_fonts", lambda: None)
    app = make_app(summary_dir=run_dir)
    notes: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append((message, kw)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert len(list(run_dir.glob("screenshot-result-*.svg"))) == 1
    assert not list(run_dir.glob("screenshot-*.png")), "no PNG rather than a broken one"
    message, kw = notes[-1]
    assert message.endswith("no PNG: " + screenshot.NO_FONT)
    assert "apt-get install fonts-dejavu-core" in message
    assert kw["severity"] == "warning"


@dataclass(frozen=True)
class FakePaths:
    root: Path


@dataclass(frozen=True)
class FakeOutcome:
    exit_code: int
    paths: FakePaths


class FakeRun:
    """Publishes the first seconds of a recorded run, then waits to be stopped, like the
    orchestrator; on stop it publishes an interrupted end and returns."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.stop_requested = threading.Event()
        self.stop_calls = 0

    def request_stop(self) -> None:
        self.stop_calls += 1
        self.stop_requested.set()

    def run(self) -> FakeOutcome:
        for event in recorded(FAIL_RUN, MID_RUN_S):
            self.bus.publish(event)
        self.stop_requested.wait(timeout=30)
        self.bus.publish(RunFinished("interrupted", 130, str(FAIL_RUN / "summary.json")))
        return FakeOutcome(130, FakePaths(FAIL_RUN))


async def test_quit_during_a_run_confirms_stops_waits_and_exits() -> None:
    bus = Bus()
    fake = FakeRun(bus)
    app = make_app(bus=bus, run=fake.run, stop=fake.request_stop, clock=FakeClock())
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await pilot.pause(0.3)
        assert app.run_active
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")  # keep running
        assert fake.stop_calls == 0
        await pilot.press("q", "y")
        for _ in range(100):
            if app.return_code is not None:
                break
            await pilot.pause(0.05)
    assert fake.stop_calls == 1
    assert app.return_value == 130
    states = [m.state for m in messages if isinstance(m, Worker.StateChanged)
              and m.worker.name == "run"]
    assert states[-1] == WorkerState.SUCCESS
    assert not app.showing_result  # stopped on purpose: exit, no result screen


async def test_a_run_that_ends_by_itself_shows_its_result_and_quits_without_asking() -> None:
    bus = Bus()

    def run() -> FakeOutcome:
        for event in recorded(PASS_RUN, None):
            bus.publish(replace(event, summary_path=str(PASS_RUN / "summary.json"))
                        if isinstance(event, RunFinished) else event)
        return FakeOutcome(0, FakePaths(PASS_RUN))

    app = make_app(bus=bus, run=run, clock=FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if isinstance(app.screen, ResultScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, ResultScreen)
        assert app.outcome is not None
        await pilot.press("q")
    assert app.return_value == 0


async def test_replay_mode_plays_a_run_directory_and_ends_on_its_result() -> None:
    app = make_app(replay=PASS_RUN, replay_speed=200.0)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if isinstance(app.screen, ResultScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, ResultScreen)
        assert app.screen.run_dir == PASS_RUN
        await pilot.press("q")
    assert app.return_value == 0


def test_make_app_refuses_ambiguous_sources() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        make_app()
    with pytest.raises(ValueError, match="exactly one"):
        make_app(bus=Bus(), summary_dir=PASS_RUN)
    with pytest.raises(ValueError, match="run needs the bus"):
        make_app(summary_dir=PASS_RUN, run=lambda: None)
