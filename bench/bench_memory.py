"""Memory over a long run, run by hand: an hour of events replayed through every consumer keeps
RSS <= 150 MB and flat after the first minute.

Synthesises one hour of a busy run's event stream (per second: a system sample, k6 progress, four
app-log batches of 200 lines as the tail delivers a flood; a database sample every 2 s; Artillery
progress every 10 s) and pushes it through the bus into the three consumers at once: the dashboard
(headless, draining once per simulated second as its timer would), the headless console (into
/dev/null) and the events.ndjson recorder. RSS is read after every simulated minute.

    .venv/bin/python bench/bench_memory.py [--minutes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.console import HeadlessConsole  # noqa: E402
from perfdash.events import (  # noqa: E402
    Bus,
    DatabaseSampled,
    LogLinesRead,
    PhaseChanged,
    RunStarted,
    SystemSampled,
)
from perfdash.run.recording import EventRecorder  # noqa: E402
from perfdash.ui.app import make_app  # noqa: E402
from tests import tool_progress  # noqa: E402


def second(bus: Bus, t: int, planned: float) -> None:
    bus.publish(SystemSampled(cpu_pct=40 + t % 30, cpu_per_core=(40.0, 50.0), mem_pct=30.0,
                              mem_used_mb=7000, swap_pct=0, load1=1.2, load5=1.1, load15=1.0,
                              backend_cpu_pct=35.0, backend_rss_mb=120.0))
    bus.publish(tool_progress.k6(vus=20, vus_max=20, iterations=t * 50, requests=t * 400,
                                 req_per_s=400.0, p95_ms=20.0 + t % 7, checks_rate=1.0,
                                 failed_rate=0.0, error_rate=0.0, tainted=False, elapsed_s=t,
                                 planned_s=planned))
    for batch in range(4):
        lines = tuple(f"2026-11-25T10:00:{t % 60:02d}.{batch}{i:03d}Z INFO  GET /api/products/"
                      f"{(t * 7 + i) % 2000} 200 {i % 9}.{i % 10}ms request-id={t}-{batch}-{i}"
                      for i in range(200))
        bus.publish(LogLinesRead(lines=lines, errors=0, warnings=batch, dropped=4800))
    if t % 2 == 0:
        bus.publish(DatabaseSampled({"active": 3, "idle": 9}, 100, 0))
    if t % 10 == 0:
        bus.publish(tool_progress.artillery(
            req_per_s=50.0, http_p50_ms=2.0, http_p95_ms=13.0, http_p99_ms=20.0,
            socketio_p95_ms=3.0, socketio_p99_ms=5.0, socketio_emits=t * 5,
            errors={"ETIMEDOUT": t // 600}, window_errors=0.0, error_rate=0.0,
            vusers_created=t * 2, vusers_completed=t * 2,
            vusers_failed=0, elapsed_s=t, planned_s=planned))


async def main(minutes: int) -> None:
    me = psutil.Process()
    planned = minutes * 60.0
    bus = Bus()
    app = make_app(bus=bus)
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null:
        recorder = EventRecorder(Path(tmp) / "events.ndjson", [])
        bus.listen(recorder)
        console = HeadlessConsole(bus, Console(file=null, width=160))
        console.start()
        rss: list[float] = []
        started = time.monotonic()
        async with app.run_test(size=(160, 48)) as pilot:
            bus.publish(RunStarted("20261125T100000Z", tmp, "soak", "local", planned))
            bus.publish(PhaseChanged("load"))
            for t in range(1, minutes * 60 + 1):
                second(bus, t, planned)
                app.drain()
                if t % 60 == 0:
                    await pilot.pause()  # let the screen repaint what the minute changed
                    rss.append(me.memory_info().rss / 1_048_576)
                    if len(rss) in (1, 5, 15, 30, 45, 60) or len(rss) == minutes:
                        print(f"minute {len(rss):3d}: RSS {rss[-1]:.0f} MB", flush=True)
        console.stop()
        recorder.close()
        size = (Path(tmp) / "events.ndjson").stat().st_size / 1e6
    growth = rss[-1] - rss[0]
    print(f"{minutes} simulated minutes in {time.monotonic() - started:.0f} s; events.ndjson "
          f"{size:.0f} MB; RSS first minute {rss[0]:.0f} MB, max {max(rss):.0f} MB, last "
          f"{rss[-1]:.0f} MB, growth after minute 1: {growth:+.1f} MB (target: max <= 150 MB, flat)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60)
    asyncio.run(main(parser.parse_args().minutes))
