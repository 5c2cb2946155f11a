"""The k6 and Artillery panes of sequential and single-tool runs (issue 24): a tool's pane times its
own phase from its own start with the plan preflight read, waits its turn in a sequential profile,
and says plainly when the tool is not part of the profile, decided from the tools the run declares.
"""

from __future__ import annotations

from perfdash.events import (
    Event,
    PhaseChanged,
    PreflightChecked,
    RunStarted,
    ToolExited,
    ToolProgressed,
    ToolStarted,
)
from perfdash.ui.live.run_header import RunHeader
from perfdash.ui.live.tool_pane import ToolPane
from tests import tool_progress
from tests.ui.conftest import LiveRig

T0 = 1_795_000_000.0


def _start(tools: tuple[str, ...], mode: str, plan: str, seconds: float) -> list[Event]:
    return [RunStarted("20261204T230000Z", "/tmp/run", "p", "local", seconds, plan=plan,
                       mode=mode, tools=tools, at=T0),
            PhaseChanged("preflight", at=T0 + 0.5),
            PhaseChanged("load", f"{mode}, {plan}", at=T0 + 2.0)]


def _k6(elapsed: float, planned: float, at: float) -> ToolProgressed:
    return tool_progress.k6(vus=1, vus_max=1, iterations=0, requests=int(elapsed) * 5, req_per_s=5.0,
                        p95_ms=12.0, checks_rate=1.0, failed_rate=0.0, tainted=False,
                        elapsed_s=elapsed, planned_s=planned, at=at)


def _art(elapsed: float, at: float) -> ToolProgressed:
    return tool_progress.artillery(req_per_s=2.0, http_p50_ms=5.0, http_p95_ms=9.0, http_p99_ms=11.0,
                               socketio_p95_ms=None, socketio_p99_ms=None, socketio_emits=0,
                               errors={}, vusers_created=20, vusers_completed=20, vusers_failed=0,
                               elapsed_s=elapsed, planned_s=30.0, at=at)


SEQUENTIAL = [
    *_start(("k6", "artillery"), "sequential",
            "about 60 s of load (k6 about 30 s, then Artillery about 30 s)", 60.0),
    ToolStarted("k6", 30.0, "about 30 s", at=T0 + 2.1),
    *(_k6(float(i), 30.0, T0 + 2.1 + i) for i in range(1, 31)),
    ToolExited("k6", 0, 30.2, at=T0 + 32.4),
    ToolStarted("artillery", 30.0, "about 30 s", at=T0 + 32.6),
]


async def test_sequential_artillery_waits_for_k6_without_a_problem(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(SEQUENTIAL[:20])  # k6 mid-phase
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "starts when k6 has finished (sequential profile)" in art
        assert "plan unknown" not in art
        assert "problem" not in rig.app.screen.query_one(RunHeader).plain


async def test_sequential_artillery_counts_from_its_own_start_with_its_plan(rig: LiveRig
                                                                           ) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(SEQUENTIAL)
        rig.clock.now += 6  # six seconds into Artillery's own phase, 36 into the run's load
        rig.app.show_now()
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "6/30 s · 24 s left" in art
        assert "plan unknown" not in art
        assert "running · reports every 10 s" in art
        # its first report, 17 s into its own phase (47 s into the run's load)
        rig.clock.now += 11
        rig.feed([_art(17.0, T0 + 49.6)])
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "17/30 s · 13 s left" in art
        assert "0 s left" not in art.replace("13 s left", "")
        k6 = rig.app.screen.query_one("#tool-k6", ToolPane).plain
        assert "exit 0 after 30.2 s" in k6


async def test_an_artillery_only_profile_says_k6_is_not_part_of_it(rig: LiveRig) -> None:
    events = [*_start(("artillery",), "parallel", "about 30 s of load", 30.0),
              ToolStarted("artillery", 30.0, "about 30 s", at=T0 + 2.1)]
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(events)
        rig.clock.now += 40
        rig.app.show_now()
        await pilot.pause()
        k6 = rig.app.screen.query_one("#tool-k6", ToolPane).plain
        assert "k6 is not part of this profile" in k6
        assert "waiting for the first samples" not in k6
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "not part of" not in art


async def test_a_k6_only_profile_says_artillery_is_not_part_of_it_even_with_artillery_checks(
        rig: LiveRig) -> None:
    # a check whose name starts with "artillery" is no declaration that Artillery runs
    events = [RunStarted("20261204T230000Z", "/tmp/run", "p", "local", 1.0, plan="1 iteration",
                         mode="parallel", tools=("k6",), at=T0),
              PreflightChecked("artillery runnable", True, "pass: found", at=T0 + 0.5),
              PhaseChanged("load", "parallel, 1 iteration of load", at=T0 + 2.0),
              ToolStarted("k6", 0.0, "1 iteration", at=T0 + 2.1),
              _k6(3.0, 0.0, T0 + 5.1)]
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(events)
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "Artillery is not part of this profile" in art
        k6 = rig.app.screen.query_one("#tool-k6", ToolPane).plain
        assert "3 s · 1 iteration planned" in k6
        assert "plan unknown" not in k6


async def test_k6_before_its_first_sample_shows_its_own_phase(rig: LiveRig) -> None:
    events = [*_start(("k6", "artillery"), "parallel", "about 30 s of load", 30.0),
              ToolStarted("k6", 20.0, "about 20 s", at=T0 + 2.1)]
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(events)
        rig.clock.now += 2
        rig.app.show_now()
        await pilot.pause()
        k6 = rig.app.screen.query_one("#tool-k6", ToolPane).plain
        assert "2/20 s · 18 s left" in k6
        assert "waiting for k6's first sample" in k6


async def test_the_header_gives_the_planned_load(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(SEQUENTIAL[:4])
        await pilot.pause()
        header = rig.app.screen.query_one(RunHeader).plain
        assert "about 60 s of load (k6 about 30 s, then Artillery about 30 s)" in header
        assert "about 0 s" not in header
