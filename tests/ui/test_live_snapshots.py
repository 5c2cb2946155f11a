"""Screenshots of the live screen mid-run, with its timeline chart, at 80×24 (the essentials),
160×48 and 240×67. The clock is fake, the recorded run is fixed, its ticks are made from it
(tests/ui/live_ticks.py) and the p95 limit comes from a fixed k6-config.json, so a snapshot changes
only when what the screen shows changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, live_rig, recorded
from tests.ui.live_ticks import with_ticks

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((240, 67), id="240x67")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_live_mid_run(snap_compare: Compare, size: tuple[int, int]) -> None:
    rig = live_rig()
    rig.app.state.files_dir = PASS_RUN  # p(95)<500: named in the gutter, off this run's scale
    events = with_ticks(recorded(FAIL_RUN, MID_RUN_S))

    def feed(pilot: Pilot[object]) -> None:
        rig.feed(events)

    assert snap_compare(rig.app, terminal_size=size, run_before=feed)
