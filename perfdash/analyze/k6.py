"""k6's summary export (`k6-<profile>.json`) into checks: every profile threshold, including tagged
submetrics, with k6's own verdict beside our reading of the value, and the checks pass rate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from perfdash.analyze.checks import Check
from perfdash.artifacts import read_json
from perfdash.events import Status
from perfdash.settings import Profile, Threshold

_STAT_ALIASES = {"p(50)": "med", "median": "med", "mean": "avg"}


def _metric_value(metric: dict[str, Any], stat: str) -> float | None:
    key = _STAT_ALIASES.get(stat, stat)
    if key == "rate" and "value" in metric and "rate" not in metric:
        key = "value"
    value = metric.get(key)
    return float(value) if isinstance(value, int | float) else None


def analyse_k6(path: Path, profile: Profile, exit_reason: str | None = None) -> list[Check]:
    data, problem = read_json(path)
    thresholds = profile.thresholds_for("k6")
    if data is None or not isinstance(data, dict) or "metrics" not in data:
        reason = exit_reason or problem or f"{path.name} has no metrics"
        return [Check.not_measured(_id(t), _name(t), reason, t.expression, t.source)
                for t in thresholds] + [
            Check.not_measured("k6.checks_rate", "k6 checks pass rate", reason,
                               f">= {profile.checks_min_rate:.0%}", "guide: checks >= 99%")]
    metrics: dict[str, Any] = data["metrics"]
    # A profile threshold on `checks` and the guide's ">= 99%" rule are one check to a reader:
    # the profile's threshold decides (it may relax the rule for a stress test), and the guide's
    # rule contributes the names and counts of the failing checks.
    rate_check: Check | None = _checks_rate(data, profile)
    checks: list[Check] = []
    for t in thresholds:
        check = _threshold_check(metrics, t)
        if rate_check and t.metric == "checks" and t.stat == "rate" and check.value is not None:
            check = replace(check, id=rate_check.id, name=rate_check.name,
                            detail=f"{rate_check.detail}; {check.detail}")
            rate_check = None
        checks.append(check)
    if rate_check is not None:
        checks.append(rate_check)
    requests = metrics.get("http_reqs", {}).get("count")
    if not requests:
        checks.append(Check("k6.requests", "k6 requests made", "fail", 0, "> 0", "perfdash",
                            "k6 made no HTTP requests: check the base URL and the script"))
    return checks


def _id(t: Threshold) -> str:
    return f"k6.{t.metric}.{t.stat}"


def _name(t: Threshold) -> str:
    return f"k6 {t.metric} {t.stat}"


def _threshold_check(metrics: dict[str, Any], t: Threshold) -> Check:
    metric = metrics.get(t.metric)
    if not isinstance(metric, dict):
        return Check.not_measured(_id(t), _name(t), f"k6 reported no metric {t.metric!r}",
                                  t.expression, t.source)
    value = _metric_value(metric, t.stat)
    k6_verdict = metric.get("thresholds", {}).get(t.expression)
    if value is None:
        return Check.not_measured(_id(t), _name(t), f"k6 reported no {t.stat} for {t.metric}",
                                  t.expression, t.source)
    # In the summary export `true` means the threshold was crossed.
    ok = (not k6_verdict) if isinstance(k6_verdict, bool) else t.holds(value)
    agree = "" if not isinstance(k6_verdict, bool) or ok == t.holds(value) else (
        " (k6's verdict differs from the rounded value)")
    verdict = "k6: crossed" if k6_verdict else "k6: ok" if isinstance(k6_verdict, bool) else ""
    return Check(_id(t), _name(t), "pass" if ok else "fail", round(value, 4), t.expression,
                 t.source, verdict + agree, _unit(t))


def _unit(t: Threshold) -> str:
    if t.stat == "rate":
        return "ratio"
    if t.stat == "count" or not t.metric.startswith(
            ("http_req_", "iteration_duration", "group_duration")):
        return ""
    return "ms"


def _checks_rate(data: dict[str, Any], profile: Profile) -> Check:
    """The guide's rule: at least 99% of checks pass (the profile may set another minimum)."""
    metric = data["metrics"].get("checks")
    want = f">= {profile.checks_min_rate:.0%}"
    src = "guide: checks pass rate >= 99%"
    if not isinstance(metric, dict):
        return Check.not_measured("k6.checks_rate", "k6 checks pass rate",
                                  "the k6 script defines no checks", want, src)
    passes, fails = int(metric.get("passes", 0)), int(metric.get("fails", 0))
    total = passes + fails
    if total == 0:
        return Check.not_measured("k6.checks_rate", "k6 checks pass rate", "no check ran", want,
                                  src)
    rate = passes / total
    failing = [f"{c['name']} ({c['fails']} of {c['passes'] + c['fails']} failed)"
               for c in _walk_checks(data.get("root_group", {})) if c.get("fails")]
    detail = f"{passes} of {total} passed" + (f"; failing: {', '.join(failing)}" if failing else "")
    status: Status = "pass" if rate >= profile.checks_min_rate else "fail"
    return Check("k6.checks_rate", "k6 checks pass rate", status, round(rate, 4), want, src,
                 detail, "ratio")


def _walk_checks(group: dict[str, Any]) -> list[dict[str, Any]]:
    found = list((group.get("checks") or {}).values())
    for sub in (group.get("groups") or {}).values():
        found.extend(_walk_checks(sub))
    return found
