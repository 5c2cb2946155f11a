"""A recorded run's timeline as the live run would have recorded it: its events.ndjson replayed
through the core's TimelineRecorder on a fake clock (the clock starts with the load phase, a row is
closed at every whole second). Used by the result-view tests, and to write the committed
tests/ui/data/*/timeline.csv and timeline-markers.ndjson:

    .venv/bin/python -m tests.ui.result_timeline
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from perfdash.events import Bus, Event, PhaseChanged, TimelineTicked
from perfdash.timeline.recorder import MARKERS_NDJSON, TIMELINE_CSV, TimelineRecorder
from perfdash.tools import progress_columns
from perfdash.ui.replay import load_events
from tests.ui.conftest import FAIL_RUN, PASS_RUN


def record_timeline(events: list[Event], run_dir: Path) -> list[TimelineTicked]:
    """Write timeline.csv and its markers into `run_dir`; return the ticks the live screen got."""
    start = next(e.at for e in events if isinstance(e, PhaseChanged) and e.phase == "load")
    now = [start]
    bus = Bus()
    ticks: list[TimelineTicked] = []
    bus.listen(lambda e: ticks.append(e) if isinstance(e, TimelineTicked) else None)
    recorder = TimelineRecorder(bus, run_dir, clock=lambda: now[0], tool_fields=progress_columns())
    recorder.open()
    for event in events:
        if event.at < start:
            continue
        while event.at >= start + recorder.rows + 1:
            now[0] = start + recorder.rows + 1
            recorder.tick()
        now[0] = event.at
        recorder(event)
    recorder.stop()
    return ticks


def main() -> None:
    for run in (PASS_RUN, FAIL_RUN):
        with tempfile.TemporaryDirectory() as tmp:
            record_timeline(load_events(run / "events.ndjson"), Path(tmp))
            for name in (TIMELINE_CSV, MARKERS_NDJSON):
                (run / name).write_text((Path(tmp) / name).read_text())
        print(run / TIMELINE_CSV, len((run / TIMELINE_CSV).read_text().splitlines()) - 1, "rows")


if __name__ == "__main__":
    main()
