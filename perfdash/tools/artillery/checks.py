"""Artillery's results as checks: the profile's thresholds on the report's metrics, every `ensure`
check with Artillery's own verdict, whether anything succeeded (and if not, whether the backend
answered), every `errors.*` counter, HTTP 5xx responses, and Artillery's exit code, which nothing
masks (an `ensure` failure exits 1 and that is a failed run, quoting the failed line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_regular_text
from perfdash.check import ZERO, Check
from perfdash.events import Status
from perfdash.settings import Profile
from perfdash.thresholds import Threshold, parse_limit
from perfdash.tools.artillery.report import ArtilleryResults, error_counters, no_answer, read_artillery
from perfdash.tools.base import script_source

_ENSURE_LINE = re.compile(r"^\s*(?P<result>ok|fail): (?P<original>.+?)(?P<optional> \(optional\))?\s*$")
_SIMPLE = re.compile(r"^\s*(?P<metric>[\w.]+?)\.(?P<stat>min|max|mean|median|p50|p75|p90|p95|p99|p999)"
                     r"\s*(?:<|<=)\s*[\d.]+\s*$")


def _id(t: Threshold) -> str:
    return f"artillery.{t.metric}.{t.stat}"


def _value(results: ArtilleryResults, t: Threshold) -> float | None:
    counters = results.counters
    if t.metric == "socketio.errors":
        return float(sum(results.socketio_errors().values()))
    if t.stat == "count" and t.metric in counters:
        return float(counters[t.metric])
    if t.stat == "count" and t.metric.startswith(("vusers.", "errors.", "http.codes.")):
        return 0.0  # Artillery omits counters that stayed at zero
    summary = results.summary(t.metric)
    if summary is not None:
        v = summary.get(t.stat)
        return float(v) if isinstance(v, int | float) else None
    return None


def artillery_checks(run_dir: Path, profile: Profile, tool: Mapping[str, Any] | None,
                     not_measured: str | None) -> list[Check]:
    results, problem = read_artillery(run_dir, profile.name)
    checks = [_threshold_check(results, t, not_measured or problem)
              for t in profile.thresholds_for("artillery")]
    ensure = _ensure_outcomes(results, run_dir)
    checks += _ensure_checks(ensure, results, profile, tool, not_measured or problem)
    if results is not None:
        checks.append(_requests_check(results))
        checks.append(_errors_check(results))
        counters = results.counters
        fivexx = sum(int(v) for k, v in counters.items() if k.startswith("http.codes.5"))
        checks.append(Check("artillery.http_5xx", "Artillery HTTP 5xx responses",
                            "pass" if fivexx == 0 else "warn", fivexx, ZERO.text,
                            "perfdash default", "", limit=ZERO))
    exit_check = _exit_check(tool, ensure)
    if exit_check is not None:
        checks.append(exit_check)
    return checks


def _requests_check(results: ArtilleryResults) -> Check:
    """Whether Artillery measured anything, and if it did, whether anything succeeded.

    A 2xx/3xx response, a Socket.IO emit or a virtual user that completed without an error status
    is a success. When none succeeded, the errors tell who is to blame: a backend that answered
    (HTTP 4xx/5xx, a rejected handshake) measured a failure, which fails the run; refused, reset or
    timed-out connections only mean nothing answered, which makes the run incomplete."""
    counters = results.counters
    codes = {k.removeprefix("http.codes."): int(v) for k, v in counters.items()
             if k.startswith("http.codes.") and isinstance(v, int | float)}
    answered = sum(n for code, n in codes.items() if code.startswith(("2", "3")))
    refused = {code: n for code, n in codes.items() if not code.startswith(("2", "3")) and n}
    emits = int(counters.get("socketio.emit", 0) or 0)
    completed = int(counters.get("vusers.completed", 0) or 0)
    if answered or emits or (completed and not refused):
        return Check("artillery.requests", "Artillery requests made", "pass", answered + emits,
                     "> 0 successful", "perfdash", f"{answered} HTTP responses 2xx/3xx, {emits} "
                     f"Socket.IO emits, {completed} virtual users completed")
    created = int(counters.get("vusers.created", 0) or 0)
    if not created:
        return Check.not_measured("artillery.requests", "Artillery requests made",
                                  "Artillery created no virtual user: the phases were empty?",
                                  "> 0 successful", "perfdash")
    errors = error_counters(counters)
    rejections = [f"{name} ×{n}" for name, n in errors.items() if n and not no_answer(name)]
    rejections += [f"HTTP {code} ×{n}" for code, n in sorted(refused.items())]
    failed = int(counters.get("vusers.failed", 0) or 0)
    if rejections:
        return Check("artillery.requests", "Artillery requests made", "fail", 0, "> 0 successful",
                     "perfdash", f"none of Artillery's {created} virtual users succeeded and the "
                     f"backend answered them: {', '.join(rejections)}"
                     + (f" ({failed} virtual users failed)" if failed else ""))
    silent = ", ".join(f"{name} ×{n}" for name, n in errors.items() if n) or "no error counted"
    return Check.not_measured("artillery.requests", "Artillery requests made",
                              f"none of Artillery's {created} virtual users got any answer "
                              f"({silent}): is the backend up and answering at the target?",
                              "> 0 successful", "perfdash")


def _errors_check(results: ArtilleryResults) -> Check:
    """Every `errors.*` counter by name, so a rejected handshake or a failed capture is in the
    verdict, not only in Artillery's console output."""
    errors = {name: n for name, n in error_counters(results.counters).items() if n}
    total = sum(errors.values())
    failed = int(results.counters.get("vusers.failed", 0) or 0)
    created = int(results.counters.get("vusers.created", 0) or 0)
    detail = (", ".join(f"{name} ×{n}" for name, n in sorted(errors.items(), key=lambda e: -e[1]))
              + f"; {failed} of {created} virtual users failed") if errors else "none"
    return Check("artillery.errors", "Artillery errors", "warn" if total else "pass", total,
                 ZERO.text, "perfdash default", detail, limit=ZERO)


def _threshold_check(results: ArtilleryResults | None, t: Threshold, reason: str | None) -> Check:
    name = f"Artillery {t.metric} {t.stat}"
    if results is None:
        return Check.not_measured(_id(t), name, reason or "no Artillery report", t.expression,
                                  t.source, t.limit)
    value = _value(results, t)
    if value is None:
        return Check.not_measured(_id(t), name, f"the report has no {t.stat} for {t.metric}",
                                  t.expression, t.source, t.limit)
    status: Status = "pass" if t.holds(value) else "fail"
    if results.partial and status == "pass":
        status = "not measured"  # part of a run cannot prove that the whole run passed
    detail = "from recorded progress (no final report)" if results.partial else ""
    if t.metric == "socketio.errors":
        detail = ", ".join(f"{k}: {v}" for k, v in results.socketio_errors().items()) or "none"
    return Check(_id(t), name, status, round(value, 3), t.expression, t.source,
                 detail or (results.problem or ""), "" if t.stat == "count" else "ms", t.limit)


def _ensure_outcomes(results: ArtilleryResults | None, run_dir: Path) -> list[tuple[str, bool, bool]]:
    """(check text, passed, strict) from the plugin's record, else from Artillery's stdout."""
    if results is not None and results.ensure is not None:
        return [(str(c.get("original")), c.get("result") == 1, c.get("strict", True) is not False)
                for c in results.ensure]
    try:
        text = read_regular_text(run_dir / "artillery.stdout.log", errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        m = _ENSURE_LINE.match(line)
        if m:
            found.append((m["original"], m["result"] == "ok", not m["optional"]))
    return found


def _measured(results: ArtilleryResults | None, original: str) -> tuple[float | None, str]:
    if results is None:
        return None, ""
    if _is_rate(original):
        created = float(results.counters.get("vusers.created", 0) or 0)
        completed = float(results.counters.get("vusers.completed", 0) or 0)
        return (round((created - completed) / created * 100, 2), "%") if created else (None, "")
    m = _SIMPLE.match(original)
    if m:
        summary = results.summary(m["metric"]) or {}
        v = summary.get(m["stat"])
        return (float(v), "ms") if isinstance(v, int | float) else (None, "")
    return None, ""


def _is_rate(original: str) -> bool:
    return original.startswith("maxErrorRate")


def _ensure_checks(ensure: list[tuple[str, bool, bool]], results: ArtilleryResults | None,
                   profile: Profile, tool: Mapping[str, Any] | None, reason: str | None,
                   ) -> list[Check]:
    script = script_source(profile.artillery_config or profile.artillery_script, profile.project_dir,
                           "the Artillery script")
    source = f"{script} (config.ensure)"
    checks = []
    for i, (original, passed, strict) in enumerate(ensure):
        value, unit = _measured(results, original)
        status: Status = "pass" if passed else ("fail" if strict else "warn")
        verdict = "Artillery: ok" if passed else "Artillery: fail" + ("" if strict else
                                                                    " (optional)")
        if passed and value is None and results is not None and _is_rate(original):
            # a rate of no virtual user at all is no evidence either way
            status, verdict = "not measured", "Artillery: ok, but no virtual user ran: no sample"
        checks.append(Check(f"artillery.ensure.{i}", f"Artillery ensure {original}", status,
                            value, original, source, verdict, unit, parse_limit(original)))
    if not ensure:
        declared = [str(x) for x in (tool or {}).get("ensure", []) if isinstance(x, str)]
        checks += [Check.not_measured(f"artillery.ensure.{i}", f"Artillery ensure {original}",
                                      reason or "Artillery printed no ensure verdict", original,
                                      source, parse_limit(original))
                   for i, original in enumerate(declared)]
    return checks


def _exit_check(tool: Mapping[str, Any] | None, ensure: list[tuple[str, bool, bool]]) -> Check | None:
    if not tool or not isinstance(tool.get("returncode"), int):
        return None
    code = int(tool["returncode"])
    name = "Artillery exit code"
    if code == 0:
        return Check("artillery.exit", name, "pass", code, ZERO.text, "Artillery",
                     "Artillery finished its phases", limit=ZERO)
    failed = [original for original, passed, strict in ensure if not passed and strict]
    if code == 1 and failed:
        return Check("artillery.exit", name, "fail", code, ZERO.text, "Artillery",
                     "ensure failed: " + "; ".join(f"fail: {f}" for f in failed), limit=ZERO)
    last = [str(x) for x in (tool.get("last_output") or tool.get("last_stderr") or []) if x]
    why = tool.get("meaning") or f"Artillery exited with code {code}"
    return Check("artillery.exit", name, "not measured", code, ZERO.text, "Artillery",
                 f"{why}" + (f": {' | '.join(last[-3:])}" if last else ""), limit=ZERO)
