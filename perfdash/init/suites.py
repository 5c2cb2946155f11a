"""k6 scripts and Artillery YAMLs in a project: what each is, what URL it defaults to, and whether it is
a negative test, so `perfdash init` never wires a suite meant to fail in as the smoke profile.

k6 scripts are recognised by their `k6` imports, Artillery files by `config:` and `scenarios:` at the
top level (read with PyYAML, never executed). A suite split as in Artillery's
`examples/multiple-scenario-specs` (a `config:` file beside a directory of `scenarios:` files, run with
`--config`) is a suite per scenario file, each with the nearest config file in its own directory or
above. A negative test is one whose file name says so
(`bad-token.yml`, `invalid-login.js`, `negative/…`), whose comments say every request is meant to fail,
or whose scenarios are all named that way; it gets a commented profile of its own instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from perfdash.tools.k6.baseurl import url_variables

_K6_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*|\brequire\(\s*)['"]k6(?:/[\w./-]*)?['"]""")
_K6_DEFAULT = re.compile(r"\bexport\s+default\s+(?:async\s+)?function\b|\bexport\s+default\s+\(?\s*\)?\s*=>")
_K6_ENV = re.compile(r"""__ENV(?:\.([A-Za-z_]\w*)|\[\s*['"]([A-Za-z_]\w*)['"]\s*\])"""
                     r"""(?:\s*(?:\|\||\?\?)\s*(?:(['"`])([^'"`\n]*)\3|(\d+(?:\.\d+)?)))?""")
_URL = re.compile(r"""['"`](https?://[^'"`\s$]+)""")
_NEGATIVE_WORDS = (r"bad|invalid|negative|wrong|expired|malformed|forbidden|unauthori[sz]ed|rejected|"
                   r"denied|should[-_ ]fail|expect(?:ed|s)?[-_ ](?:to[-_ ])?fail(?:ure|ures|s)?|"
                   r"must[-_ ]fail")
_NEGATIVE_NAME = re.compile(rf"(?:^|[-_. /])({_NEGATIVE_WORDS})(?=$|[-_. /])", re.IGNORECASE)
_NEGATIVE_COMMENT = re.compile(
    r"(?:#|//|/\*|^\s*\*).*?\b(negative test|(?:meant|expected|supposed|designed) to fail|"
    r"(?:should|must|will) (?:all )?fail|expects? (?:a )?failures?|every (?:request|user|virtual user|vu|"
    r"call|handshake)\b[^\n]*\bfail)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class K6Script:
    path: str  # relative to the project, with forward slashes
    default_function: bool
    scenarios: bool
    stages: bool
    thresholds: bool
    env: tuple[tuple[str, str | None], ...]  # (__ENV name, the script's fallback value if visible)
    url_env: tuple[str, ...]  # the __ENV names it reads its request base from
    default_urls: tuple[str, ...]  # http(s) URLs written in the script (its fallback base)
    negative: str | None  # why it is a negative test, or None

    @property
    def runnable(self) -> bool:
        return self.default_function or self.scenarios


@dataclass(frozen=True)
class ArtilleryScript:
    path: str
    phases: bool
    ensure: bool
    environments: tuple[str, ...]
    plugins: tuple[str, ...]
    target: str | None
    negative: str | None
    config: str | None = None  # the config file a split scenario file runs with (`--config`)


@dataclass(frozen=True)
class ArtilleryPart:
    """Half of a split Artillery suite: a file with only `config:` or only `scenarios:`."""

    path: str
    text: str
    data: dict[str, Any]

    @property
    def is_config(self) -> bool:
        return "scenarios" not in self.data


def negative_reason(rel_path: str, text: str, names: tuple[str, ...] = ()) -> str | None:
    """Why a suite is a negative test (every request meant to fail), or None."""
    m = _NEGATIVE_NAME.search(Path(rel_path).stem) or _NEGATIVE_NAME.search(str(Path(rel_path).parent))
    if m:
        return f"its path says \"{m[1]}\""
    c = _NEGATIVE_COMMENT.search(text)
    if c:
        return f"a comment says \"{c[1]}\""
    hits = [n for n in names if _NEGATIVE_NAME.search(n) or _NEGATIVE_COMMENT.search("# " + n)]
    if names and len(hits) == len(names):
        return f"its scenario name \"{hits[0]}\" says so"
    return None


def read_k6(rel_path: str, text: str, with_imports: list[str]) -> K6Script | None:
    if not _K6_IMPORT.search(text):
        return None
    env: dict[str, str | None] = {}
    for m in (m for t in with_imports for m in _K6_ENV.finditer(t)):
        name = m[1] or m[2]
        fallback = m[4] if m[3] else m[5]
        if env.get(name) is None:
            env[name] = fallback
    return K6Script(
        path=rel_path, default_function=bool(_K6_DEFAULT.search(text)),
        scenarios=bool(re.search(r"\bscenarios\s*:", text)),
        stages=bool(re.search(r"\bstages\s*:", text)),
        thresholds=bool(re.search(r"\bthresholds\s*:", text)),
        env=tuple(env.items()),
        url_env=tuple(v.name for v in url_variables(with_imports)),
        default_urls=tuple(dict.fromkeys(m[1] for t in with_imports for m in _URL.finditer(t))),
        negative=negative_reason(rel_path, text),
    )


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(k) for k in value) if isinstance(value, dict) else ()


def _yaml_mapping(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _script(rel_path: str, text: str, data: dict[str, Any], config_path: str | None = None,
            ) -> ArtilleryScript:
    config = data["config"] if isinstance(data.get("config"), dict) else {}
    plugins = _names(config.get("plugins"))
    scenarios = data["scenarios"] if isinstance(data.get("scenarios"), list) else []
    names = tuple(str(s["name"]) for s in scenarios if isinstance(s, dict) and s.get("name"))
    target = config.get("target")
    return ArtilleryScript(
        path=rel_path, phases="phases" in config, ensure="ensure" in config or "ensure" in plugins,
        environments=_names(config.get("environments")), plugins=plugins,
        target=str(target) if target else None,
        negative=negative_reason(rel_path, text, names), config=config_path,
    )


def read_artillery(rel_path: str, text: str) -> ArtilleryScript | None:
    """None unless the YAML is a mapping with config and scenarios (what `artillery run` takes)."""
    if "config" not in text or "scenarios" not in text:
        return None
    data = _yaml_mapping(text)
    if data is None or "config" not in data or "scenarios" not in data:
        return None
    return _script(rel_path, text, data)


# Keys only an Artillery config has, so an application's own `config:` YAML is not taken for one.
_CONFIG_KEYS = {"target", "phases", "environments", "plugins", "ensure", "engines", "processor"}


def read_artillery_part(rel_path: str, text: str) -> ArtilleryPart | None:
    """A config-only or scenarios-only Artillery file (half of a split suite), else None."""
    if "config" not in text and "scenarios" not in text:
        return None
    data = _yaml_mapping(text)
    if data is None or ("config" in data) == ("scenarios" in data):
        return None
    if "config" in data:
        ok = isinstance(data["config"], dict) and bool(_CONFIG_KEYS & set(data["config"]))
    else:
        scenarios = data["scenarios"]
        ok = isinstance(scenarios, list) and bool(scenarios) and all(
            isinstance(sc, dict) and ("flow" in sc or "engine" in sc) for sc in scenarios)
    return ArtilleryPart(rel_path, text, data) if ok else None


def split_suites(parts: list[ArtilleryPart]) -> list[ArtilleryScript]:
    """Each scenario file with the config file it runs with: the nearest one in its directory or a
    directory above (the example's `common-config.yml` beside `scenarios/`), a name with "config"
    first among several there. A scenario file with no config file above it is left out: it cannot
    run alone."""
    configs = [p for p in parts if p.is_config]
    out: list[ArtilleryScript] = []
    for scenario in (p for p in parts if not p.is_config):
        folder = PurePosixPath(scenario.path).parent
        near = [c for c in configs if folder.is_relative_to(PurePosixPath(c.path).parent)]
        if not near:
            continue
        depth = max(len(PurePosixPath(c.path).parent.parts) for c in near)
        config = min((c for c in near if len(PurePosixPath(c.path).parent.parts) == depth),
                     key=lambda c: ("config" not in PurePosixPath(c.path).stem.lower(), c.path))
        merged = {**scenario.data, "config": config.data["config"]}
        out.append(_script(scenario.path, scenario.text, merged, config.path))
    return out


def main_first_k6(scripts: list[K6Script]) -> list[K6Script]:
    """Runnable, not negative, shallow and named like a main suite first; helpers last."""
    return sorted(scripts, key=lambda s: (s.negative is not None, not s.runnable, _rank_name(s.path),
                                          s.path.count("/"), s.path))


def main_first_artillery(scripts: list[ArtilleryScript]) -> list[ArtilleryScript]:
    return sorted(scripts, key=lambda a: (a.negative is not None, _rank_name(a.path), a.path.count("/"),
                                          a.path))


def _rank_name(path: str) -> int:
    """A suite named smoke/load/main/baseline is the one a first run wants."""
    stem = Path(path).stem.lower()
    return 0 if re.search(r"smoke|load|main|baseline|default|suite|all", stem) else 1
