"""The dashboard attached to a run another process writes (a recorded run copied into a directory
whose lock this test holds, as the running perfdash would): it catches up, follows, `q` detaches at
once without asking to stop anything, and the end of the run switches it to the result view."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from perfdash.events import Bus, RunFinished, RunStarted
from perfdash.follow.follower import Follower
from perfdash.follow.source import LocalSource
from perfdash.run.liveness import RunLock
from perfdash.ui.format import clock_time
from perfdash.ui.live.live_screen import LiveScreen
from perfdash.ui.live.run_header import RunHeader
from perfdash.ui.modals.quit_screen import QuitScreen
from perfdash.ui.replay import load_events
from perfdash.ui.result.result_screen import ResultScreen
from tests.ui.conftest import PASS_RUN, FakeClock


def _running_copy(tmp_path: Path, upto: int | None) -> tuple[Path, list[str], RunLock]:
    """The recorded run in `tmp_path/run`, paths pointing there, `upto` lines recorded so far."""
    run_dir = tmp_path / "run"
    shutil.copytree(PASS_RUN, run_dir)
    lines = (PASS_RUN / "events.ndjson").read_text().splitlines()
    original = json.loads(lines[0])["run_dir"]
    lines = [line.replace(original, str(run_dir)) for line in lines]
    lock = RunLock(run_dir)
    (run_dir / "events.ndjson").write_text("\n".join(lines[:upto]) + "\n")
    return run_dir, lines, lock


def _follower(run_dir: Path, made: list[Follower]) -> Callable[[Bus], Follower]:
    def build(bus: Bus) -> Follower:
        made.append(Follower(LocalSource(run_dir, poll_s=0.05), bus, poll_s=0.1))
        return made[-1]
    return build


async def test_q_detaches_at_once_and_leaves_the_run_alone(tmp_path: Path) -> None:
    from perfdash.ui.app import make_app

    run_dir, _lines, lock = _running_copy(tmp_path, 120)
    made: list[Follower] = []
    app = make_app(attach=_follower(run_dir, made))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(40):
                await pilot.pause(0.1)
                if app.state.header.run_id:
                    break
            assert isinstance(app.screen, LiveScreen)
            assert app.state.header.run_id == "20261125T150522Z" or app.state.header.run_id
            assert app.run_active
            await pilot.press("q")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, QuitScreen)
        assert app.detached
        assert app.return_code == 0
        assert made[0].outcome is not None
        assert made[0].outcome.how == "detached"
    finally:
        lock.release()
    assert (run_dir / "events.ndjson").read_text().count("\n") == 120  # nothing written


async def test_the_end_of_the_run_switches_to_the_result_view(tmp_path: Path) -> None:
    from perfdash.ui.app import make_app

    run_dir, lines, lock = _running_copy(tmp_path, 60)
    app = make_app(attach=_follower(run_dir, []))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        assert isinstance(app.screen, LiveScreen)
        with (run_dir / "events.ndjson").open("a") as f:  # the rest of the run, then its end
            f.write("\n".join(lines[60:]) + "\n")
        lock.release()
        for _ in range(60):
            await pilot.pause(0.1)
            if isinstance(app.screen, ResultScreen):
                break
        assert isinstance(app.screen, ResultScreen)
        assert app.exit_code == json.loads((run_dir / "summary.json").read_text())["exit_code"]


def _at(line: str) -> float:
    return float(json.loads(line)["at"])


async def test_elapsed_counts_from_the_start_of_the_run_not_from_attaching(tmp_path: Path
                                                                           ) -> None:
    """Attached 120 lines into the run, on a clock that never moves by itself: the header shows
    the time the run has been going (from its recording), then moves with the clock, and stops
    at the run's own end."""
    from perfdash.ui.app import make_app

    run_dir, lines, lock = _running_copy(tmp_path, 120)
    started = _at(lines[0])
    expected = int(max(_at(line) for line in lines[:120]) - started)
    assert expected >= 10  # far from the 0 s a screen-side clock would show
    clock = FakeClock()
    app = make_app(attach=_follower(run_dir, []), clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if app.state.header.elapsed_s == expected:
                break
        assert app.state.header.elapsed_s == expected
        header = app.screen.query_one(RunHeader)
        app.show_now()
        await pilot.pause()
        assert f"elapsed {clock_time(expected)}" in header.plain
        clock.now += 7  # seven seconds on, nothing recorded meanwhile: the run still goes on
        app.show_now()
        assert app.state.header.elapsed_s == expected + 7
        with (run_dir / "events.ndjson").open("a") as f:
            f.write("\n".join(lines[120:]) + "\n")
        lock.release()
        for _ in range(60):
            await pilot.pause(0.1)
            if isinstance(app.screen, ResultScreen):
                break
        assert isinstance(app.screen, ResultScreen)
    finished = next(_at(line) for line in lines if '"type": "RunFinished"' in line)
    assert app.state.header.elapsed_s == int(finished - started)


async def test_a_replay_shows_the_recorded_run_time() -> None:
    from perfdash.ui.app import make_app

    events = load_events(PASS_RUN / "events.ndjson")
    started = next(e.at for e in events if isinstance(e, RunStarted))
    finished = next(e.at for e in events if isinstance(e, RunFinished))
    app = make_app(replay=PASS_RUN, replay_speed=1000.0, clock=FakeClock())
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.state.finished is not None:
                break
        assert app.state.finished is not None
    assert app.state.header.elapsed_s == int(finished - started) > 20
