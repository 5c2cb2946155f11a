"""A tool without a pane of its own gets the generic one on the live screen: mounted when the run
declares the tool, titled with the tool's label, showing its phase and its ToolProgressed figures."""

from __future__ import annotations

from perfdash.events import PhaseChanged, RunStarted, ToolExited, ToolProgressed, ToolStarted
from perfdash.ui.live.live_screen import LiveScreen
from perfdash.ui.live.tool_pane import ToolPane
from tests.ui.conftest import LiveRig

T0 = 1_800_000_000.0


async def test_a_locust_run_shows_the_generic_pane(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed([RunStarted("r1", "/tmp/r1", "p", "demo", 15.0, plan="about 15 s", mode="parallel",
                             tools=("locust",), at=T0),
                  PhaseChanged("load", at=T0 + 1)])
        await pilot.pause()
        screen = rig.app.screen
        assert isinstance(screen, LiveScreen)
        pane = screen.query_one("#tool-locust", ToolPane)
        assert pane.border_title == "Locust"
        assert "starting Locust" in pane.plain
        assert "not part of this profile" in screen.query_one("#tool-artillery", ToolPane).plain
        rig.feed([ToolStarted("locust", 15.0, "about 15 s", at=T0 + 1.5),
                  ToolProgressed("locust", 6.0, 15.0, (("users", 4.0), ("rps", 27.0), ("p95_ms", 61.0),
                                                       ("fail_ratio", 0.0), ("failures", 0.0)),
                                 at=T0 + 7.5)])
        await pilot.pause()
        text = pane.plain
        assert "users 4" in text
        assert "req/s 27" in text
        assert "p95 61.0 ms" in text
        assert "failing 0.00%" in text
        rig.feed([ToolExited("locust", 0, 15.4, at=T0 + 16.9)])
        await pilot.pause()
        assert "exit 0 after 15.4 s" in pane.plain
        # k6's and Artillery's standing panes, then Locust's, mounted once
        assert [p.tool_name for p in screen.query(ToolPane)] == ["k6", "artillery", "locust"]


def test_a_tools_own_columns_join_the_load_tracks() -> None:
    from perfdash.timeline.columns import NAMES
    from perfdash.ui.live.timeline_chart import chart_rows, tool_series
    from perfdash.ui.live.timeline_data import TimelineData

    names = [*NAMES, "locust_rps", "locust_p95_ms", "locust_fail_ratio", "locust_users",
             "locust_p50_ms", "host.api-1.cpu_pct", "my_tool_rps"]
    found = tool_series(names)
    assert [c for c, _, _ in found["rps"]] == ["locust_rps", "my_tool_rps"]
    assert [(c, label) for c, label, _ in found["latency"]] == [("locust_p95_ms", "locust")]
    assert [c for c, _, _ in found["errors"]] == ["locust_fail_ratio"]
    assert [c for c, _, _ in found["vus"]] == ["locust_users"]
    assert tool_series(list(NAMES)) == {}  # the common columns (sio_p95_ms too) are never a tool

    data = TimelineData(horizon_s=20)
    for t in range(12):
        data.add(float(t), {**dict.fromkeys(NAMES), "cpu_pct": 40.0, "locust_rps": 30.0 + t,
                            "locust_p95_ms": 55.0, "locust_fail_ratio": 0.0, "locust_users": 4.0}, ())
    text = "\n".join("".join(part for part, _ in row) for row in chart_rows(data, 140, 30))
    assert "locust 41" in text  # the newest req/s, in the rps track's gutter
    assert "locust 55.0" in text  # its p95 in the latency track's
    assert "locust 4" in text
