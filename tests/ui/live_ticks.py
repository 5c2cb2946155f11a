"""`TimelineTicked` events made from a recorded run, standing in for the core's timeline recorder
(perfdash/timeline/recorder.py) in the live-screen tests until recorded runs carry real ticks.

One tick per whole second after the load phase started (the recorder's t_s 0), with the newest
sample of each kind in that second; k6's p50/p99 are not in its progress events, so they are
derived from its p95 (synthetic, but on the right side of it). Markers: phase changes, problems,
tool exits, and k6's first "tainted".
"""

from __future__ import annotations

from perfdash.events import (
    FAIL_RATIO,
    P50_MS,
    P95_MS,
    P99_MS,
    RPS,
    THRESHOLDS_CROSSED,
    USERS,
    DatabaseSampled,
    Event,
    LogLinesRead,
    PhaseChanged,
    ProblemDetected,
    SystemSampled,
    TimelineTicked,
    ToolExited,
    ToolProgressed,
)


def _values(e: Event) -> dict[str, float | None]:
    if isinstance(e, ToolProgressed) and e.tool == "k6":
        p95 = e.get(P95_MS)
        return {"k6_vus": e.get(USERS), "k6_rps": e.get(RPS), "k6_p95_ms": p95,
                "k6_p50_ms": None if p95 is None else round(p95 * 0.55, 2),
                "k6_p99_ms": None if p95 is None else round(p95 * 1.4, 2),
                "k6_error_rate": e.get(FAIL_RATIO)}
    if isinstance(e, ToolProgressed) and e.tool == "artillery":
        return {"art_rps": e.get(RPS), "art_p50_ms": e.get(P50_MS), "art_p95_ms": e.get(P95_MS),
                "art_p99_ms": e.get(P99_MS), "art_errors": float(sum(n for _, n in e.counts)),
                "sio_p95_ms": e.get("sio_p95_ms")}
    if isinstance(e, SystemSampled):
        return {"cpu_pct": e.cpu_pct, "mem_pct": e.mem_pct, "load1": e.load1}
    if isinstance(e, DatabaseSampled):
        by = e.connections_by_state
        return {"db_active": by.get("active", 0), "db_idle": by.get("idle", 0),
                "db_idle_in_tx": by.get("idle in transaction", 0),
                "db_total": sum(by.values()), "db_max": e.max_connections}
    return {}


def _marker(e: Event, tainted: bool) -> tuple[str, str] | None:
    if isinstance(e, PhaseChanged):
        return ("phase", e.phase)
    if isinstance(e, ProblemDetected):
        return ("problem", e.what)
    if isinstance(e, ToolExited):
        return ("tool_exit", f"{e.tool} exit {e.returncode}")
    if isinstance(e, ToolProgressed) and e.get(THRESHOLDS_CROSSED) and not tainted:
        return ("breach", "k6 threshold crossed")
    return None


def with_ticks(events: list[Event]) -> list[Event]:
    """`events` with one TimelineTicked per second of the run inserted where it was due."""
    start = next((e.at for e in events if isinstance(e, PhaseChanged) and e.phase == "load"),
                 None)
    if start is None:
        return list(events)
    out: list[Event] = []
    second = 0
    values: dict[str, float | None] = {}
    markers: list[tuple[str, str]] = []
    log_lines = log_errors = 0
    tainted = False

    def flush() -> None:
        nonlocal values, markers, log_lines, log_errors, second
        row = dict(values)
        row["log_lines"], row["log_errors"] = float(log_lines), float(log_errors)
        out.append(TimelineTicked(float(second), row, tuple(markers), at=start + second + 1))
        values, markers, log_lines, log_errors = {}, [], 0, 0
        second += 1

    for e in events:
        while e.at >= start + second + 1 and e.at > start:
            flush()
        out.append(e)
        if e.at < start:
            continue
        values.update(_values(e))
        mark = _marker(e, tainted)
        if mark is not None:
            markers.append(mark)
        if isinstance(e, ToolProgressed):
            tainted = tainted or bool(e.get(THRESHOLDS_CROSSED))
        if isinstance(e, LogLinesRead):
            log_lines += len(e.lines) + e.dropped
            log_errors += e.errors
    return out
