"""Locust's results as checks: whether it measured anything, its failure ratio against the
profile's `check_fail_ratio` (0 unless set: Locust's own rule, any failed request fails), the
average and p95 response-time limits when the profile sets them, and its exit code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.check import Check
from perfdash.events import Status
from perfdash.settings import Profile
from perfdash.thresholds import Limit
from perfdash.tools.locust.command import FAILED_REQUESTS_EXIT
from perfdash.tools.locust.report import LocustResults, read_locust
from perfdash.tools.locust.table import LocustOptions


def options_of(profile: Profile) -> LocustOptions | None:
    table = profile.tool_tables.get("locust")
    return table.options if table is not None and isinstance(table.options, LocustOptions) else None


def locust_checks(run_dir: Path, profile: Profile, tool: Mapping[str, Any] | None,
                  not_measured: str | None) -> list[Check]:
    options = options_of(profile)
    source = f"profiles.toml [profiles.{profile.name}.locust]"
    results, problem = read_locust(run_dir, profile.name)
    reason = not_measured or problem or "no Locust statistics"
    ratio_limit = options.check_fail_ratio if options else 0.0
    ratio_rule = Limit("", "<=", ratio_limit, "ratio", f"<= {ratio_limit:g}")
    limits: list[tuple[str, str, Limit]] = []  # (id, name, limit in ms)
    if options and options.check_avg_response_time is not None:
        limits.append(("locust.response_time.avg", "Locust average response time",
                       _ms_limit("avg", options.check_avg_response_time)))
    if options and options.check_p95_response_time is not None:
        limits.append(("locust.response_time.p95", "Locust p95 response time",
                       _ms_limit("p95", options.check_p95_response_time)))
    ratio_source = source if options and ratio_limit else "Locust's own rule (any failed request)"
    if results is None or results.total.requests == 0:
        checks = [Check.not_measured("locust.requests", "Locust requests made",
                                     reason if results is None else "Locust made no request",
                                     "> 0", "perfdash", Limit("", ">", 0.0, "", "> 0")),
                  Check.not_measured("locust.fail_ratio", "Locust failed requests", reason,
                                     ratio_rule.text, ratio_source, ratio_rule)]
        checks += [Check.not_measured(i, n, reason, rule.text, source, rule) for i, n, rule in limits]
        return [*checks, *_exit_check(tool)]
    total = results.total
    partial = " (from the live history: Locust wrote no final statistics)" if results.partial else ""
    checks = [_requests_check(results)]
    ratio = total.fail_ratio or 0.0
    status: Status = "pass" if ratio_rule.holds(ratio) else "fail"
    detail = "; ".join(f"{name}: {error} ×{n}" for name, error, n in results.failures[:5]) or "none"
    checks.append(Check("locust.fail_ratio", "Locust failed requests", _partial(status, results),
                        round(ratio, 6), ratio_rule.text, ratio_source,
                        f"{total.failures} of {total.requests} failed: {detail}{partial}", "ratio",
                        ratio_rule))
    for check_id, name, rule in limits:
        value = total.avg_ms if rule.stat == "avg" else total.pct("95%")
        if value is None:
            checks.append(Check.not_measured(check_id, name, f"no {rule.stat} in Locust's statistics",
                                             rule.text, source, rule))
            continue
        st: Status = "pass" if rule.holds(value) else "fail"
        checks.append(Check(check_id, name, _partial(st, results), round(value, 2),
                            rule.text, source, partial.strip(" ()"), "ms", rule))
    return [*checks, *_exit_check(tool)]


def _ms_limit(stat: str, limit_ms: float) -> Limit:
    """A response-time limit from the profile; the text leaves the stat to the check's name."""
    return Limit(stat, "<=", limit_ms, "ms", f"<= {limit_ms:g} ms")


def _partial(status: Status, results: LocustResults) -> Status:
    """Part of a run cannot prove that the whole run passed."""
    return "not measured" if results.partial and status == "pass" else status


def _requests_check(results: LocustResults) -> Check:
    total = results.total
    ok = total.requests - total.failures
    if ok > 0:
        return Check("locust.requests", "Locust requests made", "pass", ok, "> 0 successful",
                     "perfdash", f"{total.requests} requests, {total.failures} failed")
    return Check("locust.requests", "Locust requests made", "fail", 0, "> 0 successful", "perfdash",
                 f"all {total.requests} of Locust's requests failed: "
                 + ("; ".join(f"{e} ×{n}" for _, e, n in results.failures[:3]) or "see locust.stderr.log"))


def _exit_check(tool: Mapping[str, Any] | None) -> list[Check]:
    if not tool or not isinstance(tool.get("returncode"), int):
        return []
    code = int(tool["returncode"])
    name = "Locust exit code"
    if code in (0, FAILED_REQUESTS_EXIT):
        return [Check("locust.exit", name, "pass", code, f"0 or {FAILED_REQUESTS_EXIT}", "Locust",
                      "Locust ran its plan" + (" (some requests failed: judged above)"
                                               if code == FAILED_REQUESTS_EXIT else ""))]
    last = [str(x) for x in (tool.get("last_output") or tool.get("last_stderr") or []) if x]
    why = tool.get("meaning") or f"Locust exited with code {code}"
    return [Check("locust.exit", name, "not measured", code, f"0 or {FAILED_REQUESTS_EXIT}", "Locust",
                  f"{why}" + (f": {' | '.join(last[-3:])}" if last else ""))]
