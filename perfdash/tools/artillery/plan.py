"""What an Artillery scenario will do, read from its YAML before any load: the phases that will
run (the profile's, the chosen environment's, or the script's own), its `ensure` checks, whether
it speaks Socket.IO, and an environment name the YAML does not define."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from perfdash.settings import Profile
from perfdash.tools.base import ToolPlan


def _phase_seconds(phase: Mapping[str, Any]) -> float:
    for key in ("pause", "duration"):
        value = phase.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def ensure_lines(ensure: Any) -> list[str]:
    """The check texts Artillery prints for an `ensure` section, in its own words."""
    if not isinstance(ensure, Mapping):
        return []
    out: list[str] = []
    for item in ensure.get("thresholds") or []:
        if isinstance(item, Mapping) and item:
            metric, value = next(iter(item.items()))
            out.append(f"{metric} < {value}")
    out += [str(c["expression"]) for c in ensure.get("conditions") or []
            if isinstance(c, Mapping) and "expression" in c]
    out += [f"http.response_time.{k} < {int(ensure[k])}" for k in ("min", "max", "median", "p95",
                                                                    "p99") if k in ensure]
    if "maxErrorRate" in ensure:
        out.append(f"maxErrorRate < {ensure['maxErrorRate']}")
    return out


def read_plan(profile: Profile) -> ToolPlan:
    assert profile.artillery_script is not None
    script = profile.artillery_script
    try:
        doc = yaml.safe_load(script.read_text(encoding="utf-8"))
    except OSError as exc:
        return ToolPlan(profile.artillery_seconds, problem=f"cannot read {script}: {exc.strerror}",
                        fix="fix the Artillery script path in profiles.toml")
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        return ToolPlan(profile.artillery_seconds, problem=f"{script.name}{line} is not valid "
                        f"YAML ({getattr(exc, 'problem', None) or exc})", fix="fix the YAML there")
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict) or not isinstance(doc.get("scenarios"), list):
        return ToolPlan(profile.artillery_seconds, problem=f"{script.name} has no `config` and "
                        "`scenarios` sections, so it is not an Artillery script",
                        fix="point [artillery] script at an Artillery YAML")
    environments = config.get("environments") or {}
    env_config: Mapping[str, Any] = {}
    if profile.artillery_environment:
        if profile.artillery_environment not in environments:
            names = ", ".join(sorted(environments)) or "none"
            return ToolPlan(profile.artillery_seconds, problem=(
                f"{script.name} defines no environment {profile.artillery_environment!r} under "
                f"config.environments (it has: {names})"),
                fix=f"fix environment in [profiles.{profile.name}.artillery]")
        env_config = environments[profile.artillery_environment] or {}
    phases = (list(profile.artillery_phases) or env_config.get("phases") or config.get("phases")
              or [])
    planned = sum(_phase_seconds(p) for p in phases if isinstance(p, Mapping))
    ensure = env_config.get("ensure") or config.get("ensure") or (
        (config.get("plugins") or {}).get("ensure"))
    engines = {str(s.get("engine")) for s in doc["scenarios"] if isinstance(s, dict)}
    uses_socketio = "socketio" in engines or str(config.get("engine")) == "socketio"
    warnings: tuple[str, ...] = ()
    if not planned:
        warnings = (f"{script.name} has no phases with a duration; the run's length is unknown",)
    return ToolPlan(planned, warnings=warnings, details={
        "ensure": ensure_lines(ensure), "socketio": uses_socketio,
        "plugins": sorted((config.get("plugins") or {}).keys())})
