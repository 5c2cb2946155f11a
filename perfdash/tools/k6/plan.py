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
    return ToolPlan(planned_seconds(options, profile), script_thresholds(options, script, profile),
                    details={"options": options})


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


def planned_seconds(options: Mapping[str, Any], profile: Profile) -> float:
    """How long the load should last: the profile's stages, else the script's scenarios, stages
    or duration; k6's `totalDuration` (which adds every graceful stop) is the last resort."""
    if profile.k6_stages:
        return profile.k6_seconds
    scenarios = options.get("scenarios") or {}
    ends: list[float] = []
    for sc in scenarios.values():
        if not isinstance(sc, dict):
            continue
        start = _seconds(sc.get("startTime"))
        if sc.get("stages"):
            length = sum(_seconds(s.get("duration")) for s in sc["stages"] if isinstance(s, dict))
        else:
            length = _seconds(sc.get("duration")) or _seconds(sc.get("maxDuration"))
        if length:
            ends.append(start + length)
    if ends:
        return max(ends)
    if options.get("stages"):
        return sum(_seconds(s.get("duration")) for s in options["stages"] if isinstance(s, dict))
    if options.get("duration"):
        return _seconds(options["duration"])
    total = _seconds(options.get("totalDuration"))
    return max(total - _DEFAULT_GRACEFUL_STOP_S, total / 2) if total else 0.0
