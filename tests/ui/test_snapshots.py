"""Screenshots of the live screen mid-run, the result screen passing and failing, and the help
screen, at 80×24 and 160×48. The clock is fake, the recorded runs are fixed and the log filter's
cursor does not blink, so a snapshot changes only when what the screen shows changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from perfdash.ui.app import make_app
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, live_rig, recorded

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_live_mid_run(snap_compare: Compare, size: tuple[int, int]) -> None:
    rig = live_rig()
    events = recorded(FAIL_RUN, MID_RUN_S)

    def feed(pilot: Pilot[object]) -> None:
        rig.feed(events)

    assert snap_compare(rig.app, terminal_size=size, run_before=feed)


@pytest.mark.parametrize("size", SIZES)
def test_result_passing(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=PASS_RUN), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_result_failing(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=FAIL_RUN), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=PASS_RUN), terminal_size=size,
                        press=["question_mark"])
