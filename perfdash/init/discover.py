"""What an existing backend project already holds that perfdash can use, found by reading files only.

`perfdash init` runs in someone else's repository: nothing here executes a script, a package manager
or a parser that is not already a dependency. k6 scripts and Artillery YAMLs are recognised by their
imports and top-level keys, everything else by names and a few regular expressions, so a wrong guess
costs one edited line in the generated profiles.toml, never a side effect.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from perfdash.init.yamlish import artillery_info

SKIP_DIRS = {"node_modules", ".git", "results", "dist", "build", ".venv", "venv", "env", ".tox",
             "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "coverage", ".next",
             "site-packages", ".cache", ".idea", ".vscode", "vendor", "target"}
MAX_DEPTH = 8
MAX_FILES = 50_000
READ_LIMIT = 256 * 1024
SCRIPT_EXT = (".js", ".ts", ".mjs", ".cjs", ".py")
LOG_EXT = (".log", ".jsonl", ".ndjson")
COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
HEALTH_ROUTES = ("/healthz", "/health", "/api/health", "/status")
START_SCRIPTS = ("start", "start:prod", "dev")  # a production start beats a dev server with watchers
ENV_FILES = (".env", ".env.local", ".env.development", ".env.example")

_K6_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*|\brequire\(\s*)['"]k6(?:/[\w./-]*)?['"]""")
_K6_DEFAULT = re.compile(r"\bexport\s+default\s+(?:async\s+)?function\b")
_K6_ENV = re.compile(r"""__ENV(?:\.([A-Za-z_]\w*)|\[\s*['"]([A-Za-z_]\w*)['"]\s*\])"""
                     r"""(?:\s*(?:\|\||\?\?)\s*(?:(['"])([^'"\n]*)\3|(\d+(?:\.\d+)?)))?""")
_HEALTH = re.compile(r"""['"`](""" + "|".join(re.escape(r) for r in HEALTH_ROUTES) + r""")['"`]""")
_PORT_PATTERNS = (
    re.compile(r"process\.env\.PORT\s*(?:\|\||\?\?)\s*['\"]?(\d{2,5})"),
    re.compile(r"""(?:os\.environ\.get|os\.getenv)\(\s*['"]PORT['"]\s*,\s*['"]?(\d{2,5})"""),
    re.compile(r"^\s*PORT\s*=\s*['\"]?(\d{2,5})\b", re.MULTILINE),
    re.compile(r"\bPORT=(\d{2,5})\b"),
    re.compile(r"\.listen\(\s*(\d{2,5})\b"),
)
_LOG_MENTION = re.compile(r"""\b\w*LOG\w*(?:FILE|PATH)\w*\s*=\s*['"]?([^\s'"&;|#]+)"""
                          r"""|>>?\s*([^\s'"&;|>]+\.(?:log|jsonl|ndjson))\b""")


@dataclass(frozen=True)
class K6Script:
    path: str  # relative to the project, with forward slashes
    default_function: bool
    scenarios: bool
    stages: bool
    thresholds: bool
    env: tuple[tuple[str, str | None], ...]  # (__ENV name, the script's fallback value if visible)


@dataclass(frozen=True)
class ArtilleryScript:
    path: str
    phases: bool
    ensure: bool
    environments: tuple[str, ...]
    plugins: tuple[str, ...]
    target: str | None


@dataclass(frozen=True)
class Service:
    package_json: str
    working_dir: str  # "." or a directory relative to the project
    start_command: str
    start_script: str
    stop_command: str | None
    runner: str  # npm, yarn or pnpm


@dataclass(frozen=True)
class Found:
    """A guessed value and the file it was read from (shown to the user next to the value)."""

    value: str
    source: str


@dataclass(frozen=True)
class Discovery:
    root: Path
    k6: tuple[K6Script, ...]
    artillery: tuple[ArtilleryScript, ...]
    service: Service | None
    health: Found | None
    port: Found | None
    app_log: Found | None  # value relative to the project; source says why it was chosen
    compose_file: str | None
    artillery_bin: str | None  # a project-local Artillery, relative to the project
    gitignore: bool


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(READ_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return ""


def walk(root: Path) -> list[Path]:
    """Project files, shallow first, without dependencies, build output, VCS data or virtualenvs."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and depth < MAX_DEPTH
                             and not (here / d / "pyvenv.cfg").exists())
        found.extend(here / f for f in sorted(filenames))
        if len(found) >= MAX_FILES:
            break
    return sorted(found, key=lambda p: (len(p.relative_to(root).parts), p.as_posix()))


def read_k6(path: Path, root: Path, text: str) -> K6Script | None:
    if not _K6_IMPORT.search(text):
        return None
    env: dict[str, str | None] = {}
    for m in _K6_ENV.finditer(text):
        name = m[1] or m[2]
        fallback = m[4] if m[3] else m[5]
        if env.get(name) is None:
            env[name] = fallback
    return K6Script(
        path=_rel(path, root), default_function=bool(_K6_DEFAULT.search(text)),
        scenarios=bool(re.search(r"\bscenarios\s*:", text)),
        stages=bool(re.search(r"\bstages\s*:", text)),
        thresholds=bool(re.search(r"\bthresholds\s*:", text)),
        env=tuple(env.items()),
    )


def _package_scripts(path: Path) -> dict[str, str]:
    try:
        data = json.loads(_read(path))
    except ValueError:
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return {}
    return {str(k): str(v) for k, v in scripts.items() if isinstance(v, str)}


def _runner(directory: Path, root: Path) -> str:
    for d in (directory, root):
        if (d / "pnpm-lock.yaml").exists():
            return "pnpm"
        if (d / "yarn.lock").exists():
            return "yarn"
    return "npm"


def find_service(packages: list[Path], root: Path) -> Service | None:
    """The package.json (root, or one or two levels down) that starts the backend."""
    best: tuple[tuple[int, int, int], Service] | None = None
    for pkg in packages:
        scripts = _package_scripts(pkg)
        start = next((s for s in START_SCRIPTS if s in scripts), None)
        if start is None:
            continue
        runner = _runner(pkg.parent, root)
        service = Service(
            package_json=_rel(pkg, root), working_dir=_rel(pkg.parent, root),
            start_command=f"{runner} run {start}", start_script=start,
            stop_command=f"{runner} run stop" if "stop" in scripts else None, runner=runner)
        rank = (int("stop" not in scripts), START_SCRIPTS.index(start),
                len(pkg.relative_to(root).parts))
        if best is None or rank < best[0]:
            best = (rank, service)
    return best[1] if best else None


def _first_match(files: list[Path], root: Path, pattern: re.Pattern[str],
                 prefer: tuple[str, ...] = ()) -> Found | None:
    hits: list[tuple[int, Found]] = []
    for f in files:
        for m in pattern.finditer(_read(f)):
            value = next(g for g in m.groups() if g)
            rank = prefer.index(value) if value in prefer else 0
            hits.append((rank, Found(value, _rel(f, root))))
            if not prefer:
                break
    return min(hits, key=lambda h: h[0])[1] if hits else None


def _is_test(path: Path) -> bool:
    return any(p in ("test", "tests", "__tests__", "spec") for p in path.parts) or ".test." in path.name


def find_log(files: list[Path], root: Path, mentions: list[Path]) -> Found | None:
    """The newest log under logs/, log/ or var/log/, or a path a script or .env file names."""
    candidates: list[tuple[Path, str]] = []
    for f in files:
        parts = f.relative_to(root).parts
        if f.suffix in LOG_EXT and any(p in ("logs", "log") and i <= 3 and len(parts) - 1 - i <= 3
                                       for i, p in enumerate(parts[:-1])):
            candidates.append((f, "the newest log file under a logs directory"))
    for text_file in mentions:
        for m in _LOG_MENTION.finditer(_read(text_file)):
            target = (text_file.parent / (m[1] or m[2])).resolve()
            if target.suffix in LOG_EXT and target.is_relative_to(root.resolve()):
                candidates.append((target, f"named in {_rel(text_file, root)}"))
    existing = [(p, why) for p, why in candidates if p.is_file()]
    if existing:
        path, why = max(existing, key=lambda c: c[0].stat().st_mtime)
    elif candidates:
        path, why = candidates[0][0], candidates[0][1] + " (not written yet)"
    else:
        return None
    return Found(_rel(path.resolve(), root.resolve()), why)


def _artillery_bin(packages: list[Path], root: Path) -> str | None:
    for pkg in packages:
        try:
            data = json.loads(_read(pkg))
        except ValueError:
            continue
        deps = {**data.get("dependencies", {}), **data.get("devDependencies", {})} \
            if isinstance(data, dict) else {}
        if "artillery" in deps:
            return _rel(pkg.parent / "node_modules" / ".bin" / "artillery", root)
    return None


def discover(root: Path) -> Discovery:
    files = walk(root)
    k6: list[K6Script] = []
    artillery: list[ArtilleryScript] = []
    for f in files:
        if f.suffix in (".js", ".ts", ".mjs"):
            script = read_k6(f, root, _read(f))
            if script is not None:
                k6.append(script)
        elif f.suffix in (".yml", ".yaml") and f.name not in COMPOSE_NAMES:
            info = artillery_info(_read(f))
            if info is not None:
                artillery.append(ArtilleryScript(_rel(f, root), *info))
    # a k6 script with a default function is a test; one without is probably a shared helper
    k6.sort(key=lambda s: (not (s.default_function or s.scenarios), s.path.count("/"), s.path))
    packages = [f for f in files if f.name == "package.json" and len(f.relative_to(root).parts) <= 3]
    service = find_service(packages, root)
    workdir = root / service.working_dir if service else root
    k6_paths = {root / s.path for s in k6}
    sources = sorted((f for f in files if f.suffix in SCRIPT_EXT and f.is_relative_to(workdir)
                      and f not in k6_paths), key=_is_test)
    env_files = [d / n for d in dict.fromkeys((root, workdir)) for n in ENV_FILES if (d / n).is_file()]
    port_sources = [*sources, *env_files, *([workdir / "package.json"] if service else [])]
    port = None
    for pattern in _PORT_PATTERNS:  # in order of trust: an explicit PORT default beats a literal
        port = _first_match(port_sources, root, pattern)
        if port:
            break
    compose = next((f for f in files if f.name in COMPOSE_NAMES
                    and len(f.relative_to(root).parts) <= 3), None)
    return Discovery(
        root=root, k6=tuple(k6), artillery=tuple(artillery), service=service,
        health=_first_match(sources, root, _HEALTH, HEALTH_ROUTES),
        port=port, app_log=find_log(files, root, [*packages, *env_files]),
        compose_file=_rel(compose, root) if compose else None,
        artillery_bin=_artillery_bin(packages, root),
        gitignore=(root / ".gitignore").is_file(),
    )
