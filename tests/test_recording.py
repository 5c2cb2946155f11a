"""events.ndjson: every event recorded in order, secrets scrubbed, a flooding log trimmed to a
screenful per batch with the rest counted, so a replay shows what the dashboard showed.
"""

from __future__ import annotations

import json
from pathlib import Path

from perfdash.events import Bus, LogLinesRead, ProblemDetected, RunStarted
from perfdash.run.recording import RECORDED_LOG_LINES, EventRecorder
from perfdash.secret import Secret


def test_recorder_trims_log_batches_and_scrubs_secrets(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    token = Secret("tok-0123456789")
    bus = Bus()
    recorder = EventRecorder(path, [token])
    bus.listen(recorder)
    bus.publish(RunStarted("r1", str(tmp_path), "smoke", "local", 20.0))
    lines = tuple(f"line {i}" for i in range(500))
    bus.publish(LogLinesRead(lines=lines, errors=1, warnings=2, dropped=7))
    bus.publish(ProblemDetected("backend said tok-0123456789 is wrong"))
    recorder.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records] == ["RunStarted", "LogLinesRead", "ProblemDetected"]
    log = records[1]
    assert log["lines"] == [f"line {i}" for i in range(500 - RECORDED_LOG_LINES, 500)]
    assert log["dropped"] == 7 + 500 - RECORDED_LOG_LINES
    assert (log["errors"], log["warnings"]) == (1, 2)
    assert "tok-0123456789" not in path.read_text()
