"""How a project starts and stops its backend, whatever the stack: Makefile targets, package.json
scripts, pyproject task runners, a docker compose file that builds the app, or a Procfile `web:` line.

Each source yields a candidate with its start and stop commands, the directory they run in and the
command lines they end up running (a `make start` recipe, the npm script's text, compose `command:` or
the Dockerfile's `CMD`), which is where the port and the log files are read from next. A candidate
with both start and stop beats one without; then Makefile, package.json, pyproject, compose, Procfile.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perfdash.init.commands import Makefile, read_makefile

MAKE_START = ("start", "serve", "run", "up", "server", "dev")
MAKE_STOP = ("stop", "down", "kill")
NPM_START = ("start", "start:prod", "serve", "dev")  # a production start beats a dev server with watchers
PY_START = ("start", "serve", "server", "run", "dev")
PY_STOP = ("stop",)
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
SOURCE_ORDER = ("Makefile", "package.json", "pyproject.toml", "compose", "Procfile")
# pyproject tables holding named tasks, and the command that runs one
PY_RUNNERS = (("tool.pdm.scripts", "pdm run"), ("tool.poe.tasks", "poe"), ("tool.taskipy.tasks", "task"),
              ("tool.hatch.envs.default.scripts", "hatch run"), ("tool.rye.scripts", "rye run"))


@dataclass(frozen=True)
class ComposeApp:
    """The compose service that builds the backend: where its ports and paths go on the host."""

    service: str
    ports: tuple[tuple[str, str], ...]  # (host port, container port)
    volumes: tuple[tuple[str, str], ...]  # (host path relative to the project, container path)
    workdir: str | None  # the container's working directory (Dockerfile WORKDIR)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    source: str  # the file the commands come from, relative to the project
    kind: str  # one of SOURCE_ORDER
    working_dir: str  # "." or a directory relative to the project
    start_command: str
    stop_command: str | None
    start_why: str
    stop_why: str | None
    command_lines: tuple[str, ...]  # what the start command ends up running, as far as it can be read
    env: dict[str, str] = field(default_factory=dict)  # variables the commands export to the backend
    makefile: Makefile | None = None
    compose: ComposeApp | None = None

    @property
    def rank(self) -> tuple[int, int, int]:
        return (int(self.stop_command is None), SOURCE_ORDER.index(self.kind), self.source.count("/"))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:256 * 1024]
    except OSError:
        return ""


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def from_makefile(path: Path, root: Path) -> Service | None:
    mk = read_makefile(_read(path))
    start = next((t for t in MAKE_START if mk.targets.get(t)), None)
    if start is None:
        return None
    stop = next((t for t in MAKE_STOP if mk.targets.get(t)), None)
    lines = list(mk.targets[start])
    for line in mk.targets[start]:  # `start: ; $(MAKE) serve` or `make run`: follow one level
        m = re.search(r"(?:\$\(MAKE\)|\bmake)\s+([\w-]+)\s*$", line)
        if m and m[1] in mk.targets:
            lines += mk.targets[m[1]]
    rel = _rel(path, root)
    env = {n: mk.value(n) or "" for n in mk.exported if n in mk.variables}
    return Service(rel, "Makefile", _rel(path.parent, root), f"make {start}",
                   f"make {stop}" if stop else None, f"{rel} target \"{start}\"",
                   f"{rel} target \"{stop}\"" if stop else None, tuple(lines), env, makefile=mk)


def package_scripts(path: Path) -> dict[str, str]:
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


def from_package_json(path: Path, root: Path) -> Service | None:
    scripts = package_scripts(path)
    start = next((s for s in NPM_START if s in scripts), None)
    if start is None:
        return None
    runner = _runner(path.parent, root)
    rel = _rel(path, root)
    lines = [scripts[start]]
    for ref in re.findall(r"\b(?:npm|yarn|pnpm)\s+(?:run\s+)?([\w:-]+)", scripts[start]):
        if ref in scripts and ref != start:
            lines.append(scripts[ref])
    stop = "stop" if "stop" in scripts else None
    return Service(rel, "package.json", _rel(path.parent, root), f"{runner} run {start}",
                   f"{runner} run stop" if stop else None, f'{rel} "{start}" script',
                   f'{rel} "stop" script' if stop else None, tuple(lines))


def _dig(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _task_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("cmd", "shell", "cmds", "call"):
            if key in value:
                return _task_text(value[key])
    if isinstance(value, list):
        return " && ".join(_task_text(v) for v in value)
    return ""


def from_pyproject(path: Path, root: Path) -> Service | None:
    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError:
        return None
    rel = _rel(path, root)
    for table, runner in PY_RUNNERS:
        tasks = _dig(data, table)
        if not isinstance(tasks, dict):
            continue
        start = next((t for t in PY_START if t in tasks), None)
        if start is None:
            continue
        stop = next((t for t in PY_STOP if t in tasks), None)
        return Service(rel, "pyproject.toml", _rel(path.parent, root), f"{runner} {start}",
                       f"{runner} {stop}" if stop else None, f"{rel} [{table}] {start}",
                       f"{rel} [{table}] {stop}" if stop else None, (_task_text(tasks[start]),))
    return None


def _compose_ports(value: Any) -> list[tuple[str, str]]:
    ports: list[tuple[str, str]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and item.get("target"):
            ports.append((str(item.get("published") or item["target"]), str(item["target"])))
        elif isinstance(item, (str, int)):
            parts = str(item).split("/")[0].split(":")
            if len(parts) == 1:
                ports.append((parts[0], parts[0]))
            else:
                ports.append((parts[-2], parts[-1]))
    return [(h, c) for h, c in ports if h.isdigit() and c.isdigit()]


def _compose_env(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    env: dict[str, str] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str) and "=" in item:
            k, v = item.split("=", 1)
            env[k] = v
    return env


def _dockerfile(context: Path, name: str) -> tuple[str | None, list[str]]:
    """The Dockerfile's last WORKDIR and its CMD/ENTRYPOINT lines (exec form joined with spaces)."""
    text = _read(context / name)
    workdir = None
    lines: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        m = re.match(r"^\s*(WORKDIR|CMD|ENTRYPOINT|ENV)\s+(.*)$", line, re.IGNORECASE)
        if not m:
            continue
        word, rest = m[1].upper(), m[2].strip()
        if word == "WORKDIR":
            workdir = rest
        elif word == "ENV":
            lines.append(" ".join(rest.split()) if "=" in rest else "=".join(rest.split(None, 1)))
        else:
            try:
                parsed = json.loads(rest)
                lines.append(" ".join(str(p) for p in parsed) if isinstance(parsed, list) else rest)
            except ValueError:
                lines.append(rest)
    return workdir, lines


def from_compose(path: Path, root: Path) -> Service | None:
    """The compose file that builds the backend (a service with `build:` and ports), not a bare database."""
    try:
        data = yaml.safe_load(_read(path))
    except yaml.YAMLError:
        return None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return None
    apps = [(name, s) for name, s in services.items()
            if isinstance(s, dict) and s.get("build") and _compose_ports(s.get("ports"))]
    if not apps:
        return None
    name, svc = apps[0]
    build = svc["build"]
    context = path.parent / (build if isinstance(build, str) else str(build.get("context", ".")))
    dockerfile = "Dockerfile" if isinstance(build, str) else str(build.get("dockerfile", "Dockerfile"))
    workdir, lines = _dockerfile(context, dockerfile)
    command = svc.get("command")
    if command:
        lines.append(" ".join(map(str, command)) if isinstance(command, list) else str(command))
    volumes: list[tuple[str, str]] = []
    for v in svc.get("volumes") or []:
        if isinstance(v, str) and ":" in v and v.startswith((".", "/")):
            host, container = v.split(":")[:2]
            host_path = (path.parent / host).resolve()
            if host_path.is_relative_to(root.resolve()):
                volumes.append((_rel(host_path, root.resolve()), container))
        elif isinstance(v, dict) and v.get("type") == "bind" and v.get("source") and v.get("target"):
            host_path = (path.parent / str(v["source"])).resolve()
            if host_path.is_relative_to(root.resolve()):
                volumes.append((_rel(host_path, root.resolve()), str(v["target"])))
    env = _compose_env(svc.get("environment"))
    default_name = path.name in COMPOSE_NAMES and path.parent == root
    flag = "" if default_name else f" -f {_rel(path, root)}"
    rel = _rel(path, root)
    app = ComposeApp(name, tuple(_compose_ports(svc.get("ports"))), tuple(volumes), workdir, env)
    return Service(rel, "compose", ".", f"docker compose{flag} up -d --build", f"docker compose{flag} down",
                   f"{rel} builds service \"{name}\"", f"{rel}: docker compose down", tuple(lines), env,
                   compose=app)


def from_procfile(path: Path, root: Path) -> Service | None:
    m = re.search(r"^web:\s*(.+)$", _read(path), re.MULTILINE)
    if not m:
        return None
    rel = _rel(path, root)
    return Service(rel, "Procfile", _rel(path.parent, root), m[1].strip(), None, f"{rel} web process",
                   None, (m[1].strip(),))


def find_services(files: list[Path], root: Path) -> list[Service]:
    """Every candidate, best first (see the module docstring)."""
    found: list[Service] = []
    for f in files:
        depth = len(f.relative_to(root).parts)
        if depth > 3:
            continue
        service: Service | None = None
        if f.name in ("Makefile", "makefile", "GNUmakefile"):
            service = from_makefile(f, root)
        elif f.name == "package.json":
            service = from_package_json(f, root)
        elif f.name == "pyproject.toml":
            service = from_pyproject(f, root)
        elif f.name in COMPOSE_NAMES:
            service = from_compose(f, root)
        elif f.name == "Procfile":
            service = from_procfile(f, root)
        if service is not None:
            found.append(service)
    return sorted(found, key=lambda s: s.rank)
