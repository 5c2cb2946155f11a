"""k6's results as checks: every threshold k6 evaluated (the script's `options.thresholds` and the
profile's), each with its source and k6's own verdict; the guide's rules only where neither the
script nor the profile set a threshold on that metric; and k6's exit code, which nothing masks.

k6 replaces `--config` thresholds with the script's own when the script declares any, so a
profile threshold may reach the summary without k6's verdict: perfdash then judges it from the
exported value and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perfdash.check import ZERO, Check
from perfdash.events import Status
from perfdash.settings import Profile
from perfdash.thresholds import Limit, Threshold, base_metric, make_threshold
from perfdash.tools.base import script_source
from perfdash.tools.k6.exitcodes import k6_exit
from perfdash.tools.k6.report import K6Summary, read_k6_summary
from perfdash.tools.k6.transport import Unanswered, unanswered

GUIDE_CHECKS = "guide: checks pass rate >= 99%"


def all_thresholds(profile: Profile, script: Sequence[Threshold],
                   summary: K6Summary | None) -> list[Threshold]:
    """The profile's thresholds, then the script's, then any other k6 judged; each once."""
    found: list[Threshold] = list(profile.thresholds_for("k6"))
    seen = {(t.metric, t.expression) for t in found}
    script_src = script_source(profile.k6_script, profile.project_dir, "the k6 script")
    extra = list(script)
    if summary is not None:
        extra += [t for m, e, _ in summary.thresholds()
                  if (t := make_threshold("k6", m, e, script_src, "script")) is not None]
    for t in extra:
        if (t.metric, t.expression) not in seen:
            seen.add((t.metric, t.expression))
            found.append(t)
    return found


def k6_checks(run_dir: Path, profile: Profile, tool: Mapping[str, Any] | None,
              not_measured: str | None) -> list[Check]:
    path = run_dir / f"k6-{profile.name}.json"
    summary, problem = read_k6_summary(path)
    script = [t for raw in (tool or {}).get("script_thresholds", [])
              if isinstance(raw, dict) and (t := Threshold.from_json(raw, "k6 script")) is not None]
    thresholds = all_thresholds(profile, script, summary)
    checks: list[Check] = []
    if summary is None:
        reason = not_measured or problem or f"{path.name} has no metrics"
        checks += [Check.not_measured(_id(t), _name(t), reason, t.expression, t.source, t.limit)
                   for t in thresholds]
        if not _has_threshold_on(thresholds, "checks"):
            want = _guide_rate(profile)
            checks.append(Check.not_measured("k6.checks_rate", "k6 checks pass rate", reason,
                                             want.text, GUIDE_CHECKS, want))
    else:
        checks += [_threshold_check(summary, t) for t in thresholds]
        checks += _unparsed_verdicts(summary, thresholds, profile)
        if not _has_threshold_on(thresholds, "checks"):
            checks.append(_checks_rate(summary, profile))
        checks += _requests_made(summary, run_dir)
    exit_check = _exit_check(tool)
    if exit_check is not None:
        checks.append(exit_check)
    return checks


def _unparsed_verdicts(summary: K6Summary, known: Sequence[Threshold],
                       profile: Profile) -> list[Check]:
    """k6's verdict on a threshold whose expression perfdash cannot read (`count===0` is valid k6):
    the tool's own word still counts."""
    seen = {(t.metric, t.expression) for t in known}
    source = script_source(profile.k6_script, profile.project_dir, "the k6 script")
    return [Check(f"k6.{metric}.{expression}", f"k6 {metric} {expression}",
                  "pass" if passed else "fail", None, expression, source,
                  "k6: ok" if passed else "k6: crossed")
            if (empty := _no_samples(summary, metric)) is None else
            Check.not_measured(f"k6.{metric}.{expression}", f"k6 {metric} {expression}",
                               f"{empty}; k6 said {'ok' if passed else 'crossed'}", expression,
                               source)
            for metric, expression, passed in summary.thresholds()
            if (metric, expression) not in seen]


def _has_threshold_on(thresholds: Sequence[Threshold], metric: str) -> bool:
    return any(base_metric(t.metric) == metric for t in thresholds)


def _id(t: Threshold) -> str:
    return "k6.checks_rate" if (t.metric, t.stat) == ("checks", "rate") else f"k6.{t.metric}.{t.stat}"


def _name(t: Threshold) -> str:
    return "k6 checks pass rate" if (t.metric, t.stat) == ("checks", "rate") else (
        f"k6 {t.metric} {t.stat}")


def _unit(t: Threshold) -> str:
    if t.stat == "rate":
        return "ratio"
    if t.stat == "count" or not base_metric(t.metric).startswith(
            ("http_req_", "iteration_duration", "group_duration")):
        return ""
    return "ms"


def _no_samples(summary: K6Summary, metric: str) -> str | None:
    """Why a Rate threshold has nothing to judge (k6 says "ok" to a rate of no sample at all)."""
    if summary.rate_samples(metric) != 0:
        return None
    return (f"k6 recorded no sample of {metric} (0 of 0): a rate of nothing is neither a pass nor "
            "a fail")


def _threshold_check(summary: K6Summary, t: Threshold) -> Check:
    value = summary.value(t.metric, t.stat)
    passed = summary.verdict(t.metric, t.expression)
    if t.stat == "rate" and (empty := _no_samples(summary, t.metric)) is not None:
        said = "" if passed is None else f"; k6 said {'ok' if passed else 'crossed'}"
        return Check.not_measured(_id(t), _name(t), empty + said, t.expression, t.source, t.limit)
    shown = round(value, 4) if value is not None else None
    if passed is not None:
        detail = "k6: ok" if passed else "k6: crossed"
        if value is not None and passed != t.holds(value):
            detail += " (k6 judged the exact samples; the exported value is rounded)"
        if t.metric == "checks" and t.stat == "rate":
            detail = f"{_checks_detail(summary)}; {detail}"
        return Check(_id(t), _name(t), "pass" if passed else "fail", shown, t.expression,
                     t.source, detail, _unit(t), t.limit)
    if value is None:
        why = (f"k6 reported no metric {t.metric!r}" if t.metric not in summary.metrics else
               f"k6 reported no {t.stat} for {t.metric}")
        if t.origin == "profile" and "{" in t.metric:
            why += (" (k6 exports a tagged submetric only when it has a threshold, and it ran "
                    "the script's own thresholds instead of the profile's: add this one to the "
                    "script's options.thresholds)")
        return Check.not_measured(_id(t), _name(t), why, t.expression, t.source, t.limit)
    return Check(_id(t), _name(t), "pass" if t.holds(value) else "fail", shown, t.expression,
                 t.source, "judged by perfdash: k6 ran the script's own thresholds instead of "
                 "the profile's", _unit(t), t.limit)


def _checks_detail(summary: K6Summary) -> str:
    passes, fails = summary.checks_counts()
    failing = summary.failing_checks()
    return f"{passes} of {passes + fails} passed" + (
        f"; failing: {', '.join(failing)}" if failing else "")


def _guide_rate(profile: Profile) -> Limit:
    return Limit("", ">=", profile.checks_min_rate, "ratio", f">= {profile.checks_min_rate:.0%}")


def _checks_rate(summary: K6Summary, profile: Profile) -> Check:
    """The guide's rule, used only where neither script nor profile has a `checks` threshold."""
    want = _guide_rate(profile)
    passes, fails = summary.checks_counts()
    if "checks" not in summary.metrics:
        return Check.not_measured("k6.checks_rate", "k6 checks pass rate",
                                  "the k6 script defines no checks", want.text, GUIDE_CHECKS, want)
    if passes + fails == 0:
        return Check.not_measured("k6.checks_rate", "k6 checks pass rate", "no check ran", want.text,
                                  GUIDE_CHECKS, want)
    rate = passes / (passes + fails)
    status: Status = "pass" if want.holds(rate) else "fail"
    return Check("k6.checks_rate", "k6 checks pass rate", status, round(rate, 4), want.text,
                 GUIDE_CHECKS, _checks_detail(summary), "ratio", want)


def _requests_made(summary: K6Summary, run_dir: Path) -> list[Check]:
    """A load test that completed no iteration, or had no request answered, measured nothing: never
    a pass (setup() alone may have sent a request). One whose every request the backend answered
    with an error measured a failure, iterations or not: a fail, naming the failed checks and the
    error answers."""
    iterations = int(summary.value("iterations", "count") or 0)
    total, ok = summary.requests(), summary.successful_requests()
    silent: Unanswered | None = None
    if total and ok == 0:
        silent = unanswered(run_dir)
        received = summary.bytes_received()
        answered = (max(0, total - silent.count) if silent is not None else
                    total if received else 0)
        if received == 0:
            answered = 0  # not one byte came back, whatever the log says
        if answered > 0:
            return [Check("k6.requests", "k6 requests made", "fail", 0, "> 0 successful",
                          "perfdash", f"none of k6's {total} HTTP requests succeeded and the "
                          f"backend answered {answered} of them with an error status"
                          + _failure_words(summary, silent))]
    why = None
    if iterations == 0:
        why = ("k6 completed no iteration: the plan was empty (a 0 s stage?) or every iteration "
               "was cut off before it ended (is the backend answering at all?)")
    elif "http_reqs" in summary.metrics and ok == 0:
        how = f" ({silent.describe()})" if silent is not None and silent.count else ""
        why = (f"none of k6's {total} HTTP requests got an answer{how}: is the backend up and "
               "answering at the base URL?")
    if why:
        return [Check.not_measured("k6.requests", "k6 requests made", why, "> 0 successful",
                                   "perfdash")]
    return [Check("k6.requests", "k6 requests made", "pass", ok, "> 0 successful", "perfdash",
                  f"{ok} of {total} succeeded in {iterations} iterations")]


def _failure_words(summary: K6Summary, silent: Unanswered | None) -> str:
    """The k6 checks that failed and the requests that got no answer, for a failed run's detail."""
    words = []
    passes, fails = summary.checks_counts()
    if passes + fails:
        words.append(f"checks: {_checks_detail(summary)}")
    if silent is not None and silent.count:
        words.append(f"no answer to {silent.count}: {silent.describe()}")
    return "; " + "; ".join(words) if words else ""


def _exit_check(tool: Mapping[str, Any] | None) -> Check | None:
    """k6's exit code as a check of its own, so its verdict can never be lost."""
    if not tool or not isinstance(tool.get("returncode"), int):
        return None
    code = int(tool["returncode"])
    meaning = k6_exit(code)
    if meaning.kind == "finished":
        return Check("k6.exit", "k6 exit code", "pass", code, ZERO.text, "k6", "k6 finished its plan",
                     limit=ZERO)
    if meaning.kind == "verdict-fail":
        return Check("k6.exit", "k6 exit code", "fail", code, ZERO.text, "k6", meaning.text or "",
                     limit=ZERO)
    return Check("k6.exit", "k6 exit code", "not measured", code, ZERO.text, "k6",
                 meaning.text or f"k6 exited with code {code}", limit=ZERO)
