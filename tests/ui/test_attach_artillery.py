"""The Artillery pane of a run that has no Artillery: `watch` (and `attach --prometheus`, the same
observer) and a profile with k6 alone. Before, the pane promised "running · reports every 10 s"
for a report that never came; it now says Artillery is not part of the run. A run with Artillery
still shows what is known before its first report."""

from __future__ import annotations

from perfdash.events import (
    Event,
    PhaseChanged,
    PreflightChecked,
    RunStarted,
    ToolProgressed,
)
from perfdash.ui.live.tool_pane import ToolPane
from tests import tool_progress
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, LiveRig, recorded


def _k6(requests: int) -> ToolProgressed:
    return tool_progress.k6(vus=2, vus_max=2, iterations=requests // 4, requests=requests,
                            req_per_s=40.0, p95_ms=12.0, checks_rate=None, failed_rate=0.0,
                            tainted=False, elapsed_s=3.0, planned_s=0.0)


async def test_watch_says_artillery_is_not_part_of_the_run(rig: LiveRig) -> None:
    # what `watch` publishes: no preflight, the load phase at once, then k6 as it shows up
    start = 1_795_000_000.0
    events = [RunStarted("20261130T070000Z", "/tmp/observed", "observed", "local", 0.0, at=start),
              PhaseChanged("load", "watching local", at=start + 0.1),
              *(_k6(40 * i) for i in range(1, 4))]
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(events)
        rig.clock.now += 30  # long past the first report Artillery would have sent
        rig.app.show_now()
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "not part of this run" in art
        assert "reports every" not in art
        assert "starts with the load phase" not in art


def _without_artillery(events: list[Event]) -> list[Event]:
    return [e for e in events if not (isinstance(e, ToolProgressed) and e.tool == "artillery")
            and not (
        isinstance(e, PreflightChecked) and e.name.lower().startswith("artillery"))]


async def test_a_k6_only_profile_says_so_and_a_run_with_artillery_still_waits(rig: LiveRig
                                                                             ) -> None:
    k6_only = _without_artillery(recorded(FAIL_RUN, MID_RUN_S))
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(k6_only)
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "not part of this run" in art
        assert "reports every" not in art


async def test_a_run_with_artillery_shows_it_running_before_its_first_report(rig: LiveRig
                                                                            ) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(recorded(FAIL_RUN, 8.0))  # preflight named Artillery; no report yet
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "running · reports every 10 s" in art
        assert "not part of this run" not in art
