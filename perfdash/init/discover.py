"""What an existing backend project already holds that perfdash can use, found by reading files only.

`perfdash init` runs in someone else's repository, in any stack: nothing here executes a script, a
package manager or a build. Suites come from perfdash.init.suites, the start/stop commands from
perfdash.init.service, the port from perfdash.init.ports and the logs from perfdash.init.logs; this
module walks the tree once and hands each the files it needs, so a wrong guess costs one edited line
in the generated profiles.toml, never a side effect.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from perfdash.init.commands import read_command
from perfdash.init.logs import LogFound, LogSearch
from perfdash.init.ports import (
    CODE_PATTERNS,
    ENV_FILE_PORT,
    PortClaim,
    PortDecision,
    decide,
    local_url,
    url_port,
)
from perfdash.init.service import COMPOSE_NAMES, Service, find_services
from perfdash.init.suites import (
    ArtilleryPart,
    ArtilleryScript,
    K6Script,
    main_first_artillery,
    main_first_k6,
    read_artillery,
    read_artillery_part,
    read_k6,
    split_suites,
)
from perfdash.tools.k6.baseurl import script_texts

SKIP_DIRS = {"node_modules", ".git", "results", "dist", "build", ".venv", "venv", "env", ".tox",
             "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "coverage", ".next",
             "site-packages", ".cache", ".idea", ".vscode", "vendor", "target"}
MAX_DEPTH = 8
MAX_FILES = 50_000
READ_LIMIT = 256 * 1024
SOURCE_EXT = (".js", ".ts", ".mjs", ".cjs", ".py")
CONFIG_EXT = (".ini", ".cfg", ".conf", ".yaml", ".yml", ".json", ".toml")
LOG_DIRS = ("logs", "log")
HEALTH_ROUTES = ("/healthz", "/health", "/api/health", "/status", "/ping", "/livez", "/readyz")
ENV_FILES = (".env", ".env.local", ".env.development", ".env.example")

_HEALTH = re.compile(r"""['"`](""" + "|".join(re.escape(r) for r in HEALTH_ROUTES) + r""")/?['"`]""")
_LOG_MENTION = re.compile(r"""\b\w*LOG\w*(?:FILE|PATH)\w*\s*=\s*['"]?([^\s'"&;|#]+)""")
_DOTENV = re.compile(r"""^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*['"]?([^'"\n#]*)""", re.MULTILINE)


@dataclass(frozen=True)
class Found:
    """A guessed value and the file it was read from (shown to the user next to the value)."""

    value: str
    source: str


@dataclass(frozen=True)
class Discovery:
    root: Path
    k6: tuple[K6Script, ...]  # main suite first, helpers and negative tests last
    artillery: tuple[ArtilleryScript, ...]
    service: Service | None
    other_services: tuple[Service, ...]  # other ways the project can be started, shown, not used
    health: Found | None
    port: PortDecision
    app_log: LogFound | None
    access_log: LogFound | None
    compose_file: str | None
    artillery_bin: str | None  # a project-local Artillery, relative to the project
    gitignore: bool

    @property
    def main_k6(self) -> K6Script | None:
        return next((s for s in self.k6 if s.negative is None and s.runnable), None)

    @property
    def main_artillery(self) -> ArtilleryScript | None:
        return next((a for a in self.artillery if a.negative is None), None)

    @property
    def negative(self) -> list[K6Script | ArtilleryScript]:
        suites: list[K6Script | ArtilleryScript] = [*self.k6, *self.artillery]
        return [s for s in suites if s.negative is not None]


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


def _is_test(path: Path) -> bool:
    return any(p in ("test", "tests", "__tests__", "spec") for p in path.parts) or ".test." in path.name


def _suites(files: list[Path], root: Path) -> tuple[list[K6Script], list[ArtilleryScript]]:
    k6: list[K6Script] = []
    artillery: list[ArtilleryScript] = []
    parts: list[ArtilleryPart] = []
    for f in files:
        if f.suffix in (".js", ".ts", ".mjs"):
            text = _read(f)
            if "k6" in text:
                script = read_k6(_rel(f, root), text, script_texts(f) if "__ENV" in text or "import" in text
                                 else [text])
                if script is not None:
                    k6.append(script)
        elif f.suffix in (".yml", ".yaml") and f.name not in COMPOSE_NAMES:
            text = _read(f)
            a = read_artillery(_rel(f, root), text)
            if a is not None:
                artillery.append(a)
            elif (part := read_artillery_part(_rel(f, root), text)) is not None:
                parts.append(part)
    artillery += split_suites(parts)
    return main_first_k6(k6), main_first_artillery(artillery)


def _env_files(root: Path, workdir: Path) -> tuple[list[Path], dict[str, str]]:
    files = [d / n for d in dict.fromkeys((root, workdir)) for n in ENV_FILES if (d / n).is_file()]
    env: dict[str, str] = {}
    for f in reversed(files):  # .env beats .env.example
        env.update({m[1]: m[2].strip() for m in _DOTENV.finditer(_read(f))})
    return files, env


def _port_claims(service: Service | None, sources: list[Path], env_files: list[Path],
                 k6: list[K6Script], artillery: list[ArtilleryScript], root: Path) -> list[PortClaim]:
    claims: list[PortClaim] = []
    if service is not None:
        facts = read_command(list(service.command_lines))
        if service.compose:
            containers = {c for _, c in service.compose.ports}
            claims += [PortClaim(h, f"{service.source} (ports \"{h}:{c}\")", "start")
                       for h, c in service.compose.ports]
            claims += [PortClaim(p, f"{service.source} service \"{service.compose.service}\"", "start",
                                 container=p in containers) for p in facts.ports]
        else:
            claims += [PortClaim(p, f"{service.start_why} (`{_line_with(service, p)}`)", "start")
                       for p in facts.ports]
        mk = service.makefile
        if mk and mk.value("PORT") and (mk.value("PORT") or "").isdigit():
            op_line = f"PORT = {mk.value('PORT')}"
            claims.append(PortClaim(mk.value("PORT") or "", f"{service.source} ({op_line})", "start"))
        if (service.env.get("PORT") or "").isdigit():
            claims.append(PortClaim(service.env["PORT"], f"{service.source} (PORT={service.env['PORT']})",
                                    "start", container=service.compose is not None))
    for f in env_files:
        m = ENV_FILE_PORT.search(_read(f))
        if m:
            claims.append(PortClaim(m[1], f"{_rel(f, root)} (PORT={m[1]})", "env"))
    for pattern in CODE_PATTERNS:
        hit = next(((f, m) for f in sources for m in [pattern.search(_read(f))] if m), None)
        if hit:
            f, m = hit
            end = m.string.find("\n", m.end())
            line = m.string[m.string.rfind("\n", 0, m.start()) + 1:end if end >= 0 else None]
            claims.append(PortClaim(m[1], f"{_rel(f, root)} (`{line.strip()[:70]}`)", "code",
                                    container=service is not None and service.compose is not None))
            break
    for s in k6:
        for url in s.default_urls:
            port = url_port(url)
            if port and local_url(url):
                claims.append(PortClaim(port, f"{s.path} ({url})", "script"))
                break
    for a in artillery:
        port = url_port(a.target) if a.target else None
        if port and a.target and local_url(a.target):
            claims.append(PortClaim(port, f"{a.config or a.path} (target {a.target})", "script"))
    return claims


def _line_with(service: Service, port: str) -> str:
    """The words of the start command that name the port (`--bind 127.0.0.1:5000`)."""
    for line in service.command_lines:
        m = re.search(rf"(?:--?[\w-]+[= ]+)?['\"]?[\w.:*\[\]-]*\b{port}\b", line)
        if m:
            return m[0]
    return port


def _logs(service: Service | None, sources: list[Path], configs: list[Path], files: list[Path],
          env: dict[str, str], root: Path, mentions: list[Path]) -> LogSearch:
    search = LogSearch(root, [])
    cwd = root / service.working_dir if service else root
    compose = service.compose if service else None
    volumes = compose.volumes if compose else ()
    workdir = (compose.workdir or "/") if compose else None
    facts = read_command(list(service.command_lines)) if service else None
    app_env = {**env, **(service.env if service else {}), **(facts.env if facts else {})}
    for f in sources:
        search.from_source(f, _read(f), app_env, cwd, volumes, workdir)
    for f in configs:
        text = _read(f)
        if "handler" in text.lower() or "filename" in text:
            search.from_source(f, _quote_values(text), app_env, cwd, volumes, workdir)
    if facts is not None:
        conf_names = [*facts.log_configs, "gunicorn.conf.py", "gunicorn_config.py"]
        for name in dict.fromkeys(conf_names):
            conf = (cwd / name).resolve()
            if conf.is_file() and conf.is_relative_to(root.resolve()):
                text = _read(conf)
                search.from_gunicorn_conf(text, cwd, _rel(conf, root.resolve()))
                search.from_source(conf, _quote_values(text), app_env, cwd, volumes, workdir)
        assert service is not None
        search.from_command(facts, cwd, service.start_why, volumes, workdir)
    for text_file in mentions:
        for m in _LOG_MENTION.finditer(_read(text_file)):
            search.add((text_file.parent / m[1]).resolve(), "access" if "access" in m[1].lower() else "app",
                       f"named in {_rel(text_file, root)}")
    existing = [f for f in files if f.suffix in (".log", ".jsonl", ".ndjson")
                and any(p in LOG_DIRS or p == "var" for p in f.relative_to(root).parts[:-1])]
    for f in sorted(existing, key=lambda p: -p.stat().st_mtime):
        search.add(f.resolve(), "access" if "access" in f.name.lower() else "app",
                   "the newest log file under a logs directory")
    return search


def _quote_values(text: str) -> str:
    """Config files write `filename: logs/app.log` unquoted; quote such values for the evaluator."""
    return re.sub(r"""(\b(?:filename|args)\s*[=:]\s*)(?![('"\[])([^\s,#)]+)""", r"\1'\2'", text)


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


def _with_port(service: Service | None, port: str | None) -> Service | None:
    """A Procfile `web:` line reads $PORT, which nobody sets when perfdash runs it: set it in front."""
    if service and port and service.kind == "Procfile" and re.search(r"\$\{?PORT\b", service.start_command):
        return replace(service, start_command=f"PORT={port} {service.start_command}")
    return service


def _first(files: list[Path], root: Path, pattern: re.Pattern[str], prefer: tuple[str, ...]) -> Found | None:
    hits: list[tuple[int, Found]] = []
    for f in files:
        for m in pattern.finditer(_read(f)):
            hits.append((prefer.index(m[1]), Found(m[1], _rel(f, root))))
    return min(hits, key=lambda h: h[0])[1] if hits else None


def discover(root: Path) -> Discovery:
    files = walk(root)
    k6, artillery = _suites(files, root)
    services = find_services(files, root)
    service = services[0] if services else None
    workdir = root / service.working_dir if service else root
    k6_paths = {root / s.path for s in k6}
    in_scope = [f for f in files if f.is_relative_to(workdir) and f not in k6_paths
                and not _is_test(f.relative_to(root))]
    sources = [f for f in in_scope if f.suffix in SOURCE_EXT]
    configs = [f for f in in_scope if f.suffix in CONFIG_EXT and f.name not in COMPOSE_NAMES
               and f.name not in ("package.json", "package-lock.json", "tsconfig.json")
               and root / f.relative_to(root) not in {root / p for a in artillery
                                                       for p in (a.path, a.config) if p}]
    env_files, env = _env_files(root, workdir)
    port = decide(_port_claims(service, sources, env_files, k6, artillery, root),
                  {c: h for h, c in service.compose.ports} if service and service.compose else None)
    packages = [f for f in files if f.name == "package.json" and len(f.relative_to(root).parts) <= 3]
    logs = _logs(service, sources, configs, files, env, root, [*packages, *env_files])
    compose = next((f for f in files if f.name in COMPOSE_NAMES
                    and len(f.relative_to(root).parts) <= 3), None)
    return Discovery(
        root=root, k6=tuple(k6), artillery=tuple(artillery), service=_with_port(service, port.port),
        other_services=tuple(services[1:]),
        health=_first(sources or in_scope, root, _HEALTH, HEALTH_ROUTES),
        port=port, app_log=logs.best("app"), access_log=logs.best("access"),
        compose_file=_rel(compose, root) if compose else None,
        artillery_bin=_artillery_bin(packages, root),
        gitignore=(root / ".gitignore").is_file(),
    )
