"""Artillery's report (`artillery-<profile>.json`) into checks: HTTP and Socket.IO percentiles,
Socket.IO connection and handshake errors by type, failed virtual users and HTTP 5xx responses.

Artillery writes its report only on a normal end; after a kill the recorded progress lines
(`artillery-progress.ndjson`) still give a partial picture, marked as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfdash.analyze.checks import Check
from perfdash.artifacts import read_json
from perfdash.events import Status
from perfdash.settings import Profile, Threshold

# Socket.IO client failures surface as `errors.Error: <message>` (xhr poll error, websocket error,
# server error, or the server's own rejection such as `unauthorized`); plain HTTP failures use
# error codes (ECONNREFUSED, ETIMEDOUT) instead.
SOCKETIO_ERROR_PREFIXES = ("errors.Error: ",)
SOCKETIO_ERROR_NAMES = ("errors.response timeout", "errors.data is not valid")


def socketio_errors(counters: dict[str, Any]) -> dict[str, int]:
    return {k.removeprefix("errors."): int(v) for k, v in counters.items()
            if k.startswith(SOCKETIO_ERROR_PREFIXES) or k in SOCKETIO_ERROR_NAMES}


def load_aggregate(report: Path, progress: Path) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(aggregate, problem, partial): the report's aggregate, else the newest progress summary."""
    data, problem = read_json(report)
    if isinstance(data, dict) and isinstance(data.get("aggregate"), dict):
        return data["aggregate"], None, False
    partial = _from_progress(progress)
    if partial is not None:
        return partial, f"{problem}; using the live progress lines recorded so far", True
    return None, problem, False


def _from_progress(path: Path) -> dict[str, Any] | None:
    """Sum the per-window counters of the progress lines; keep the last window's summaries."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    counters: dict[str, float] = {}
    summaries: dict[str, Any] = {}
    seen = False
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if rec.get("type") == "summary":
            return {"counters": rec.get("counters", {}), "summaries": rec.get("summaries", {}),
                    "rates": rec.get("rates", {})}
        seen = True
        for k, v in (rec.get("counters") or {}).items():
            counters[k] = counters.get(k, 0) + v
        summaries.update(rec.get("summaries") or {})
    return {"counters": counters, "summaries": summaries, "rates": {}} if seen else None


def _id(t: Threshold) -> str:
    return f"artillery.{t.metric}.{t.stat}"


def _value(aggregate: dict[str, Any], t: Threshold) -> float | None:
    counters: dict[str, Any] = aggregate.get("counters") or {}
    if t.metric == "socketio.errors":
        return float(sum(socketio_errors(counters).values()))
    if t.stat == "count" and t.metric in counters:
        return float(counters[t.metric])
    if t.stat == "count" and (t.metric.startswith(("vusers.", "errors.", "http.codes."))):
        return 0.0  # Artillery omits counters that stayed at zero
    summary = (aggregate.get("summaries") or {}).get(t.metric)
    if isinstance(summary, dict):
        v = summary.get(t.stat)
        return float(v) if isinstance(v, int | float) else None
    return None


def analyse_artillery(report: Path, progress: Path, profile: Profile,
                      exit_reason: str | None = None) -> list[Check]:
    aggregate, problem, partial = load_aggregate(report, progress)
    thresholds = profile.thresholds_for("artillery")
    if aggregate is None:
        reason = exit_reason or problem or "no Artillery report"
        return [Check.not_measured(_id(t), f"Artillery {t.metric} {t.stat}", reason, t.expression,
                                   t.source) for t in thresholds]
    checks: list[Check] = []
    for t in thresholds:
        name = f"Artillery {t.metric} {t.stat}"
        value = _value(aggregate, t)
        if value is None:
            checks.append(Check.not_measured(
                _id(t), name, f"the report has no {t.stat} for {t.metric}", t.expression,
                t.source))
            continue
        status: Status = "pass" if t.holds(value) else "fail"
        if partial and status == "pass":
            status = "not measured"  # part of a run cannot prove that the whole run passed
        detail = "from recorded progress (no final report)" if partial else ""
        if t.metric == "socketio.errors":
            errs = socketio_errors(aggregate.get("counters") or {})
            detail = ", ".join(f"{k}: {v}" for k, v in errs.items()) or "none"
        unit = "" if t.stat == "count" else "ms"
        checks.append(Check(_id(t), name, status, round(value, 3), t.expression, t.source,
                            detail or (problem or ""), unit))
    counters = aggregate.get("counters") or {}
    fivexx = sum(int(v) for k, v in counters.items() if k.startswith("http.codes.5"))
    checks.append(Check("artillery.http_5xx", "Artillery HTTP 5xx responses",
                        "pass" if fivexx == 0 else "warn", fivexx, "== 0",
                        "perfdash default", ""))
    return checks
