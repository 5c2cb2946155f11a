"""`[profiles.P]`: the profile's own keys, its k6 and Artillery tables and the tables of tools that
read their own, read into a `Profile` with every mistake one sentence naming the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.settings.errors import SettingsError
from perfdash.settings.profile import Generators, HostLimits, K6Stage, Profile, parse_duration
from perfdash.settings.threshold_section import read_thresholds
from perfdash.settings.toml_reader import TomlReader
from perfdash.settings.tool_tables import TOOL_TABLE_READERS, read_profile_tool_tables

_PROFILE_KEYS = {"description", "mode", "k6", "artillery", "thresholds", "host", "database",
                 "checks_min_rate", "baseline"}


def _k6_stages(r: TomlReader, table: str, raw: Any) -> list[K6Stage]:
    if not isinstance(raw, list):
        raise r.fail(table, "stages", "expected a list of tables",
                     'write stages = [{ duration = "10s", target = 5 }]')
    stages: list[K6Stage] = []
    for i, stage in enumerate(raw):
        if not isinstance(stage, Mapping) or set(stage) != {"duration", "target"}:
            raise r.fail(table, "stages", f"stage {i + 1} is not {{duration, target}}",
                         'write stages = [{ duration = "10s", target = 5 }]')
        try:
            parse_duration(str(stage["duration"]))
        except ValueError:
            raise r.fail(table, "stages", f"stage {i + 1} has a bad duration {stage['duration']!r}",
                         'use k6 durations like "30s" or "1m30s"') from None
        target = stage["target"]
        if isinstance(target, bool) or not isinstance(target, int) or target < 0:
            raise r.fail(table, "stages", f"stage {i + 1} has target {target!r}",
                         "write the number of virtual users as a whole number >= 0")
        stages.append(K6Stage(str(stage["duration"]), target))
    return stages


def _artillery_phases(r: TomlReader, table: str, raw: Any) -> list[Mapping[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(p, Mapping) for p in raw):
        raise r.fail(table, "phases", "expected a list of tables",
                     "write phases = [{ duration = 10, arrivalRate = 2 }]")
    for i, phase in enumerate(raw):
        for key in ("duration", "pause", "arrivalRate", "rampTo", "arrivalCount", "maxVusers"):
            if key not in phase:
                continue
            value = phase[key]
            ok = (not isinstance(value, bool) and isinstance(value, int | float)
                  and math.isfinite(value) and value >= 0
                  and (value > 0 or key not in ("duration", "pause")))
            if not ok:
                unit = "seconds " if key in ("duration", "pause") else ""
                raise r.fail(table, "phases", f"phase {i + 1} has {key} = {value!r}",
                             f"write {key} as a number of {unit}greater than 0")
    return list(raw)


def _string_table(r: TomlReader, table: str, key: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise r.fail(table, key, "expected a table of strings",
                     f'write {key} = {{ NAME = "value" }}')
    return dict(raw)


# A profile's name becomes part of file names in the run directory (`k6-<profile>.json`) and of the
# results directory's own name: a plain name cannot point anywhere else.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def read_profile(r: TomlReader, project: Path, name: str, data: Mapping[str, Any]) -> Profile:
    if not _PLAIN_NAME.fullmatch(name):
        raise SettingsError(f"{r.where('profiles')}: the profile name {name!r} is not a plain name; "
                            "rename it using only letters, digits, '_', '-' and '.' (not first).")
    table = f"profiles.{name}"
    r.known(data, table, _PROFILE_KEYS | set(TOOL_TABLE_READERS))
    mode = r.str_(data, table, "mode", "parallel")
    if mode not in ("parallel", "sequential"):
        raise r.fail(table, "mode", f"unknown mode {mode!r}", 'use "parallel" or "sequential"')
    k6 = r.table(data, table, "k6")
    r.known(k6, f"{table}.k6", {"script", "stages", "env", "generators", "web_dashboard",
                                "latency_source"})
    web_dashboard = r.bool_(k6, f"{table}.k6", "web_dashboard", False)
    latency_source = _latency_source(r, f"{table}.k6", k6, web_dashboard)
    generators = _generators(r, f"{table}.k6", k6.get("generators", 1))
    stages = _k6_stages(r, f"{table}.k6", k6.get("stages", []))
    k6_env = _string_table(r, f"{table}.k6", "env", k6.get("env", {}))
    art = r.table(data, table, "artillery")
    r.known(art, f"{table}.artillery", {"script", "config", "phases", "environment", "target"})
    phases = _artillery_phases(r, f"{table}.artillery", art.get("phases", []))
    k6_script = r.str_(k6, f"{table}.k6", "script")
    if isinstance(art.get("script"), list):
        # measured with Artillery 2.0.34: `run a.yml b.yml` deep-merges the files, so b's first
        # scenario replaces a's and a never runs
        raise r.fail(f"{table}.artillery", "script", "names several scenario files, which Artillery "
                     "merges into one (the later file's scenarios replace the earlier's)",
                     "name one scenario file per profile, or list the scenarios in one file")
    art_script = r.str_(art, f"{table}.artillery", "script")
    art_config = r.str_(art, f"{table}.artillery", "config")
    for tool, script, section in (("k6", k6_script, k6), ("artillery", art_script, art)):
        if script is None and section:
            raise r.fail(f"{table}.{tool}", None, f"sets {', '.join(sorted(section))} but no script",
                         f"add script = \"path\" to [{table}.{tool}] or remove the table")
    own_tables = read_profile_tool_tables(r, project, table, data)
    if k6_script is None and art_script is None and not own_tables:
        raise r.fail(table, None, "names neither a k6 nor an Artillery script",
                     "add [" + table + ".k6] script = \"k6/your-script.js\"")
    host = r.table(data, table, "host")
    r.known(host, f"{table}.host", {"cpu_warn_pct", "memory_warn_pct"})
    db = r.table(data, table, "database")
    r.known(db, f"{table}.database", {"slow_query_ms"})
    checks_min = r.number(data, table, "checks_min_rate", 0.99)
    baseline = r.table(data, table, "baseline")
    r.known(baseline, f"{table}.baseline",
            {"tolerance_pct", "fail_on_regression", "min_effect_ms", "confidence"})
    confidence = r.number(baseline, f"{table}.baseline", "confidence", 0.95)
    if not 0.5 <= confidence < 1:
        raise r.fail(f"{table}.baseline", "confidence", f"expected a level between 0.5 and 1, got "
                     f"{confidence:g}", "write e.g. confidence = 0.95")
    return Profile(
        name=name,
        description=r.str_(data, table, "description", "") or "",
        mode="sequential" if mode == "sequential" else "parallel",
        k6_script=(project / k6_script) if k6_script else None,
        artillery_script=(project / art_script) if art_script else None,
        k6_stages=tuple(stages),
        artillery_phases=tuple(dict(p) for p in phases),
        k6_env=k6_env,
        artillery_environment=r.str_(art, f"{table}.artillery", "environment"),
        artillery_target=r.str_(art, f"{table}.artillery", "target"),
        artillery_config=(project / art_config) if art_config else None,
        project_dir=project,
        thresholds=read_thresholds(r, f"{table}.thresholds", r.table(data, table, "thresholds")),
        host=HostLimits(
            cpu_warn_pct=r.number(host, f"{table}.host", "cpu_warn_pct", 80.0),
            memory_warn_pct=r.number(host, f"{table}.host", "memory_warn_pct", 90.0),
        ),
        slow_query_ms=r.number(db, f"{table}.database", "slow_query_ms", 100.0),
        checks_min_rate=checks_min,
        regression_tolerance_pct=r.number(baseline, f"{table}.baseline", "tolerance_pct", 10.0),
        fail_on_regression=r.bool_(baseline, f"{table}.baseline", "fail_on_regression", False),
        regression_min_effect_ms=r.number(baseline, f"{table}.baseline", "min_effect_ms", 1.0),
        regression_confidence=confidence,
        k6_generators=generators,
        k6_web_dashboard=latency_source == "dashboard",
        k6_latency_source=latency_source,
        tool_tables=own_tables,
    )


LATENCY_SOURCES = ("mean", "dashboard", "remote-write")


def _latency_source(r: TomlReader, table: str, k6: Mapping[str, Any], web_dashboard: bool) -> str:
    """`latency_source`, or what `web_dashboard` (the older key) implies without it."""
    source = r.str_(k6, table, "latency_source")
    if source is None:
        return "dashboard" if web_dashboard else "mean"
    if source not in LATENCY_SOURCES:
        raise r.fail(table, "latency_source", f"unknown source {source!r}",
                     "use " + ", ".join(f'"{s}"' for s in LATENCY_SOURCES))
    if web_dashboard and source != "dashboard":
        raise r.fail(table, "latency_source", f'"{source}" contradicts web_dashboard = true',
                     "remove web_dashboard (latency_source = \"dashboard\" is the same)")
    return source


def _generators(r: TomlReader, table: str, raw: Any) -> Generators:
    if raw == "k6-operator":
        return "k6-operator"
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 64:
        raise r.fail(table, "generators", f"expected a whole number from 1 to 64 or "
                     f"\"k6-operator\", got {raw!r}", "write e.g. generators = 2")
    return raw
