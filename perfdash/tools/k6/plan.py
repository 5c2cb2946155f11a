"""What a k6 script will do, asked of k6 itself before any load: `k6 inspect
--execution-requirements` resolves the options exactly as `k6 run` would (script options, the
profile's config, stages and `-e` variables) and prints them without running anything.

It gives the script's own thresholds (so they become checks even if k6 later crashes), the
planned duration of scenarios perfdash did not write, and a configuration k6 rejects before a
single request is sent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perfdash.settings import Profile, parse_duration
from perfdash.thresholds import Threshold, make_threshold
from perfdash.tools.base import ToolPlan, script_source

# k6 lets the last iterations finish for this long after a scenario's time is up.
_DEFAULT_GRACEFUL_STOP_S = 30.0


def inspect_script(k6: Path, profile: Profile, option_args: Sequence[str], env: Mapping[str, str],
                   project_dir: Path, env_args: Sequence[str]) -> ToolPlan:
    """Runs `k6 inspect` with the same options `k6 run` will get."""
    assert profile.k6_script is not None
    script = profile.k6_script
    argv = [str(k6), "inspect", "--execution-requirements", "--include-system-env-vars",
            *option_args, *env_args, str(script)]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                             cwd=project_dir, env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ToolPlan(profile.k6_seconds, problem=f"k6 inspect could not run: {exc}",
                        fix="check the k6 binary (perfdash doctor)")
    if out.returncode != 0:
        return ToolPlan(profile.k6_seconds, problem=f"k6 rejects {script.name}: "
                        f"{_k6_error(out.stderr or out.stdout)}",
                        fix=f"run `k6 inspect {script}` to see the whole message and fix the "
                            "script or the profile's [k6] settings")
    try:
        options: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        return ToolPlan(profile.k6_seconds, warnings=("k6 inspect printed no JSON; the script's "
                                                      "own thresholds are read after the run",))
    seconds, iterations = planned_load(options, profile)
    return ToolPlan(seconds, script_thresholds(options, script, profile),
                    details={"options": options}, iterations=iterations,
                    limit_s=_seconds(options.get("totalDuration")))


_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def _k6_error(text: str) -> str:
    """The first line of k6's last error message (`level=error msg="..."`), or the last line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        m = _MSG.search(line)
        if m:
            message = m.group(1).replace('\\"', '"').replace("\\t", " ")
            return message.split("\\n", 1)[0].strip()
    return lines[-1] if lines else "no message"


def script_thresholds(options: Mapping[str, Any], script: Path, profile: Profile) -> tuple[Threshold, ...]:
    """Every threshold k6 resolved; the caller marks which ones the profile wrote."""
    found: list[Threshold] = []
    source = script_source(script, profile.project_dir, "the k6 script")
    for metric, exprs in (options.get("thresholds") or {}).items():
        for item in exprs if isinstance(exprs, list) else [exprs]:
            expr = item.get("threshold") if isinstance(item, dict) else item
            if isinstance(expr, str):
                t = make_threshold("k6", str(metric), expr, source, origin="script")
                if t is not None:
                    found.append(t)
    return tuple(found)


def _seconds(value: Any, default: float = 0.0) -> float:
    if not isinstance(value, str) or not value:
        return default
    try:
        return parse_duration(value)
    except ValueError:
        return default


# Executors that run a number of iterations: the scenario lasts as long as they take, and k6's
# maxDuration (10 minutes unless the script says) is only where k6 gives up on them.
_ITERATION_EXECUTORS = ("per-vu-iterations", "shared-iterations")


def _count(value: Any, default: int = 1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _iterations(sc: Mapping[str, Any]) -> int:
    """The iterations of an iteration executor: k6 gives each an iteration and a VU by default."""
    iterations = _count(sc.get("iterations"))
    if sc.get("executor") == "per-vu-iterations":
        return iterations * _count(sc.get("vus"))
    return iterations


def planned_load(options: Mapping[str, Any], profile: Profile) -> tuple[float, int]:
    """How long the load should last, and how many iterations whose length only the run tells:
    the profile's stages, else the script's scenarios, stages or duration. A script without load
    options runs one iteration (k6's default scenario), not the 10 minutes k6 allows it."""
    if profile.k6_stages:
        return profile.k6_seconds, 0
    scenarios = options.get("scenarios") or {}
    ends: list[float] = []
    iterations = 0
    for sc in scenarios.values():
        if not isinstance(sc, dict):
            continue
        start = _seconds(sc.get("startTime"))
        if sc.get("stages"):
            length = sum(_seconds(s.get("duration")) for s in sc["stages"] if isinstance(s, dict))
        elif sc.get("executor") in _ITERATION_EXECUTORS:
            iterations += _iterations(sc)
            continue
        else:
            length = _seconds(sc.get("duration"))
        if length:
            ends.append(start + length)
    if ends or iterations:
        return max(ends, default=0.0), iterations
    if options.get("stages"):
        return sum(_seconds(s.get("duration")) for s in options["stages"]
                   if isinstance(s, dict)), 0
    if options.get("duration"):
        return _seconds(options["duration"]), 0
    total = _seconds(options.get("totalDuration"))
    return (max(total - _DEFAULT_GRACEFUL_STOP_S, total / 2) if total else 0.0), 0
