"""What an Artillery scenario will do, read from its YAML before any load: the phases that will
run (the profile's, the chosen environment's, or the script's own), its target, its `ensure`
checks, whether it speaks Socket.IO, and an environment name the YAML does not define.

A profile may split the script as Artillery's `--config` does (its `multiple-scenario-specs`
example): a config file with `config:` and a scenario file with `scenarios:`; then both are read
and merged the way Artillery merges them, the config file last."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
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


def merged(low: Any, high: Any) -> Any:
    """`high` laid over `low` as Artillery combines its input files (lodash `merge`, checked against
    lodash 4 in Artillery 2.0.34): tables merge key by key, lists item by item, anything else is
    replaced."""
    if isinstance(low, Mapping) and isinstance(high, Mapping):
        out = dict(low)
        for key, value in high.items():
            out[key] = merged(low.get(key), value)
        return out
    if isinstance(low, list) and isinstance(high, list):
        return [merged(a, b) for a, b in zip(low, high, strict=False)] + low[len(high):] + \
            high[len(low):]
    return high  # a YAML `key:` with nothing after it (null) empties the key, as in lodash


def _read_yaml(path: Path) -> tuple[Any, ToolPlan | None]:
    """The parsed file, or the plan that says why it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), None
    except OSError as exc:
        return None, ToolPlan(0.0, problem=f"cannot read {path}: {exc.strerror}",
                              fix="fix the Artillery file paths in profiles.toml")
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        return None, ToolPlan(0.0, problem=f"{path.name}{line} is not valid YAML "
                              f"({getattr(exc, 'problem', None) or exc})", fix="fix the YAML there")


def read_script(profile: Profile) -> tuple[dict[str, Any], ToolPlan | None]:
    """The script Artillery will run: the scenario file with the profile's config file (if any) laid
    over it, as `artillery run --config` merges them; or the plan that says why it cannot run."""
    assert profile.artillery_script is not None
    script = profile.artillery_script
    table = f"[profiles.{profile.name}.artillery]"
    doc, failed = _read_yaml(script)
    if failed:
        return {}, failed
    doc = doc if isinstance(doc, dict) else {}
    if profile.artillery_config is not None:
        config_doc, failed = _read_yaml(profile.artillery_config)
        if failed:
            return {}, failed
        if not isinstance(config_doc, dict) or not isinstance(config_doc.get("config"), dict):
            return {}, ToolPlan(0.0, problem=f"{profile.artillery_config.name} has no `config` "
                                "section, so it is not an Artillery config file",
                                fix=f"point config in {table} at the file with `config:`")
        doc = merged(doc, config_doc)
    has_scenarios = isinstance(doc.get("scenarios"), list)
    if has_scenarios and not isinstance(doc.get("config"), dict):
        return {}, ToolPlan(0.0, problem=f"{script.name} holds scenarios without a `config` "
                            "section, so Artillery needs the config file they were split from",
                            fix=f'name it in {table} with config = "path/to/common-config.yml"')
    if not has_scenarios or not isinstance(doc.get("config"), dict):
        has = "no `scenarios` section" if isinstance(doc.get("config"), dict) else \
            "no `config` and `scenarios` sections"
        return {}, ToolPlan(0.0, problem=f"{script.name} has {has}, so it is not an Artillery "
                            "script", fix=f"point script in {table} at an Artillery YAML")
    return doc, None


def read_plan(profile: Profile, base_url: str | None = None) -> ToolPlan:
    """`base_url`: the environment's, which perfdash passes as `--target`."""
    doc, failed = read_script(profile)
    if failed:
        return ToolPlan(profile.artillery_seconds, problem=failed.problem, fix=failed.fix)
    script = profile.artillery_config or profile.artillery_script
    assert script is not None
    config = doc["config"]
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
    target = profile.artillery_target or base_url or env_config.get("target") or config.get("target")
    if not target:
        return ToolPlan(profile.artillery_seconds, problem=(
            f"nothing names a target for Artillery: the environment has no base URL and "
            f"{script.name} has no config.target"),
            fix=f"set the environment's base_url or target in [profiles.{profile.name}.artillery]")
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
        "plugins": sorted((config.get("plugins") or {}).keys()), "target": str(target)})
