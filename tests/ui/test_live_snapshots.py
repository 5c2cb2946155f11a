"""Screenshots of the live screen mid-run, with its timeline chart, at 80×24 (the essentials),
160×48 and 240×67. The clock is fake, the recorded run is fixed, its ticks are made from it
(tests/ui/live_ticks.py) and the p95 limit comes from a fixed k6-config.json, so a snapshot changes
only when what the screen shows changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from textual.pilot import Pilot

from perfdash.events import Event, TimelineTicked
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, live_rig, recorded
from tests.ui.live_ticks import with_ticks

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((240, 67), id="240x67")]
Compare = Callable[..., bool]
PERCENTILES = ("k6_p50_ms", "k6_p95_ms", "k6_p99_ms")


@pytest.mark.parametrize("size", SIZES)
def test_live_mid_run(snap_compare: Compare, size: tuple[int, int]) -> None:
    rig = live_rig()
    rig.app.state.files_dir = PASS_RUN  # p(95)<500: named in the gutter, off this run's scale
    events = with_ticks(recorded(FAIL_RUN, MID_RUN_S))

    def feed(pilot: Pilot[object]) -> None:
        rig.feed(events)

    assert snap_compare(rig.app, terminal_size=size, run_before=feed)


def _mean_only(events: list[Event]) -> list[Event]:
    """The same run as k6 launched without its web dashboard output (the default): no per-second
    percentiles, the interval mean from k6's REST API every third second, held in between."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, TimelineTicked):
            values = {k: v for k, v in e.values.items() if k not in PERCENTILES}
            p95 = e.values.get("k6_p95_ms")
            values["k6_avg_ms"] = round(p95 * 0.6, 2) if p95 is not None and e.t_s % 3 == 0 else None
            out.append(replace(e, values=values))
        else:
            out.append(e)
    return out


def test_live_mid_run_without_percentiles(snap_compare: Compare) -> None:
    rig = live_rig()
    rig.app.state.files_dir = PASS_RUN
    events = _mean_only(with_ticks(recorded(FAIL_RUN, MID_RUN_S)))

    def feed(pilot: Pilot[object]) -> None:
        rig.feed(events)

    assert snap_compare(rig.app, terminal_size=(160, 48), run_before=feed)
