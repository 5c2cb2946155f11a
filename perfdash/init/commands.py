"""What a command line that starts a backend tells: its port, the log files it writes, the environment
variables it sets. Read from Makefile recipes, package.json/pyproject scripts, Procfile lines, compose
`command:` and Dockerfile `CMD` (gunicorn, uvicorn, hypercorn, flask, django, waitress, node, npm...).

Also the Makefile reader: variables (`PORT ?= 5000`, `LOG_DIR := var/log`) expanded into the recipes
of its targets, because that is where `make start` hides the real command line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from perfdash.log_formats import FormatError, from_format_string

_PORT_FLAGS = (
    re.compile(r"""(?:--bind|-b|--listen|--host-port)(?:=|\s+)['"]?(?:[\w.*\[\]-]*:)?(\d{2,5})\b"""),
    re.compile(r"""(?:--port|--http-port|-p)(?:=|\s+)['"]?(\d{2,5})\b(?!:)"""),
    re.compile(r"""\brunserver\s+(?:[\w.]+:)?(\d{2,5})\b"""),
    re.compile(r"""(?:^|[\s;&(])(?:export\s+)?PORT=['"]?(\d{2,5})\b"""),
)
_ENV_PREFIX = re.compile(r"""(?:^|[\s;&(])(?:export\s+)?([A-Z][A-Z0-9_]*)="""
                         r"""(?:'([^']*)'|"([^"]*)"|([^\s;&|)]+))""")
_OPTION_FILE = re.compile(r"""(--access-logfile|--error-logfile|--log-file|--access-log|--log-config)"""
                          r"""(?:=|\s+)['"]?([^\s'"]+)""")
_ACCESS_FORMAT = re.compile(r"""--access-logformat(?:=|\s+)(?:'([^']*)'|"([^"]*)"|(\S+))""")
_REDIRECT = re.compile(r"""(?:>>|(?<![\d&])>|\btee\s+(?:-a\s+)?)\s*['"]?([^\s'";&|>]+)""")
_MAKE_VAR = re.compile(r"^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*"
                       r"(\?=|:=|::=|\+=|=)\s*(.*?)\s*$")
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9_./%-]+(?:\s+[A-Za-z0-9_./%-]+)*)\s*:(?![=:])\s*(.*)$")
_MAKE_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class CommandFacts:
    """What one or more command lines say about the server they start."""

    ports: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # VAR=value set for the server
    access_logs: tuple[str, ...] = ()  # as written (relative to where the command runs)
    app_logs: tuple[tuple[str, str], ...] = ()  # (path, why)
    access_format: str | None = None  # gunicorn --access-logformat, when given
    log_configs: tuple[str, ...] = ()  # --log-config / -c files to read for more log paths


def read_command(lines: list[str]) -> CommandFacts:
    ports: list[str] = []
    env: dict[str, str] = {}
    access: list[str] = []
    app: list[tuple[str, str]] = []
    configs: list[str] = []
    access_format: str | None = None
    for line in lines:
        for pattern in _PORT_FLAGS:
            ports += [m[1] for m in pattern.finditer(line)]
        for m in _ENV_PREFIX.finditer(line):
            env.setdefault(m[1], next(g for g in (m[2], m[3], m[4]) if g is not None))
        for m in _OPTION_FILE.finditer(line):
            option, path = m[1], m[2]
            if path == "-":
                continue
            if option in ("--access-logfile", "--access-log"):
                access.append(path)
            elif option == "--log-config":
                configs.append(path)
            else:
                app.append((path, f"{option} in the start command"))
        f = _ACCESS_FORMAT.search(line)
        if f:
            access_format = next(g for g in f.groups() if g is not None)
        if re.search(r"\bgunicorn\b", line):
            c = re.search(r"(?:^|\s)(?:-c|--config)(?:=|\s+)['\"]?([^\s'\"]+)", line)
            if c and not c[1].startswith("python:"):
                configs.append(c[1])
        for m in _REDIRECT.finditer(line):
            path = m[1]
            if path.startswith(("/dev/", "&")) or path.isdigit() or path.endswith((".pid", ".lock")):
                continue
            app.append((path, "the start command's output goes there"))
    return CommandFacts(tuple(dict.fromkeys(ports)), env, tuple(dict.fromkeys(access)), tuple(app),
                        access_format, tuple(dict.fromkeys(configs)))


def gunicorn_time_unit(access_format: str | None) -> tuple[str, str | None]:
    """(access_log_format preset, request-time unit) for gunicorn's access log format string."""
    if access_format is None:
        return "combined", None  # gunicorn's default format has no request time
    try:
        return from_format_string(access_format)
    except FormatError:
        return "combined", None  # a time perfdash cannot read: requests and statuses only


@dataclass(frozen=True)
class Makefile:
    variables: dict[str, str]  # raw values, as assigned (first assignment wins for ?=)
    exported: set[str]
    targets: dict[str, list[str]]  # target -> recipe lines, variables expanded

    def expand(self, text: str, depth: int = 0) -> str:
        if depth > 8:
            return text

        def sub(m: re.Match[str]) -> str:
            name = m[1] or m[2]
            return self.expand(self.variables[name], depth + 1) if name in self.variables else m[0]

        return _MAKE_REF.sub(sub, text).replace("$$", "$")

    def value(self, name: str) -> str | None:
        return self.expand(self.variables[name]) if name in self.variables else None


def read_makefile(text: str) -> Makefile:
    variables: dict[str, str] = {}
    exported: set[str] = set()
    raw_targets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.replace("\\\n", " ").splitlines():
        if raw.startswith("\t"):
            if current is not None:
                current.append(raw.strip().lstrip("@-+").strip())
            continue
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        v = _MAKE_VAR.match(line)
        if v:
            name, op, value = v[1], v[2], v[3]
            if line.lstrip().startswith("export"):
                exported.add(name)
            if op == "?=" and name in variables:
                continue
            variables[name] = (variables.get(name, "") + " " + value).strip() if op == "+=" else value
            current = None
            continue
        e = re.match(r"^export\s+([A-Za-z_][A-Za-z0-9_ ]*)$", line)
        if e:
            exported.update(e[1].split())
            continue
        t = _MAKE_TARGET.match(line)
        if t:
            current = []
            recipe_inline = t[2].split(";", 1)
            if len(recipe_inline) == 2:
                current.append(recipe_inline[1].strip())
            for name in t[1].split():
                raw_targets[name] = current
            continue
        current = None
    mk = Makefile(variables, exported, {})
    mk.targets.update({name: [mk.expand(line) for line in lines] for name, lines in raw_targets.items()})
    return mk


def split_words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()
