"""`--refresh SECONDS`: the live screen repaints once per interval (a problem still shows at the
next drain), and the flag is parsed and checked the same way on every command that shows it."""

from __future__ import annotations

import pytest

from perfdash.cli import build_parser, main
from perfdash.events import Bus
from perfdash.ui.app import make_app
from perfdash.ui.live.run_header import RunHeader
from tests.ui.conftest import PASS_RUN, FakeClock, LiveRig, recorded

LIVE_COMMANDS = (
    ["run", "--profile", "smoke", "--env", "local"],
    ["demo"],
    ["watch", "--env", "local"],
    ["attach", "latest"],
    ["show", "--replay", "results/perf/x"],
)


def rig(refresh_s: float) -> LiveRig:
    bus, clock = Bus(), FakeClock()
    return LiveRig(make_app(bus=bus, clock=clock, refresh_s=refresh_s), bus, clock)


def test_the_interval_sets_drains_per_paint() -> None:
    assert (make_app(bus=Bus()).paint_every, make_app(bus=Bus()).drain_s) == (4, 0.25)
    slow = make_app(bus=Bus(), refresh_s=5)
    assert (slow.paint_every, slow.drain_s) == (20, 0.25)
    fast = make_app(bus=Bus(), refresh_s=0.1)  # faster than the 4 Hz drain: drained that often
    assert (fast.paint_every, fast.drain_s) == (1, 0.1)
    with pytest.raises(ValueError, match="above 0"):
        make_app(bus=Bus(), refresh_s=0)


async def test_a_two_second_refresh_repaints_every_eighth_drain() -> None:
    live = rig(2.0)
    async with live.app.run_test(size=(80, 24)) as pilot:
        live.feed(recorded(PASS_RUN, 3.0))
        header = live.app.screen.query_one(RunHeader)
        await pilot.pause()
        before = header.plain
        live.clock.now += 120
        assert live.app.paint_every == 8
        live.app._ticks = 0  # count from a paint, as the timer would
        for _ in range(live.app.paint_every - 1):
            live.app.drain()
        await pilot.pause()
        assert header.plain == before  # a second and three quarters: not repainted yet
        assert "elapsed 2:0" not in header.plain
        live.app.drain()
        await pilot.pause()
        assert "elapsed 2:0" in header.plain


@pytest.mark.parametrize("argv", LIVE_COMMANDS, ids=lambda a: a[0])
def test_every_live_command_takes_refresh(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).refresh == 1.0
    assert build_parser().parse_args([*argv, "--refresh", "2.5"]).refresh == 2.5
    assert build_parser().parse_args([*argv, "--refresh", "60"]).refresh == 60.0


@pytest.mark.parametrize("value", ["0", "-1", "60.5", "nan", "inf", "soon"])
def test_a_refresh_outside_0_to_60_is_one_sentence_and_exit_2(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--profile", "smoke", "--env", "local", "--refresh", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"perfdash run: error: argument --refresh: '{value}' is not a repaint "
                   "interval; pass seconds above 0 and at most 60, e.g. --refresh 2")
