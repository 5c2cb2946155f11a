"""The backend's app log and access log, found in its code and configuration, even before they exist.

A log directory usually appears only once the app has run, so looking for *.log files finds nothing in
a fresh checkout. The paths are written down, though: Python logging handlers (`FileHandler(...)`,
`basicConfig(filename=...)`, dictConfig/ini `filename`), gunicorn's `--access-logfile` and
`--error-logfile` (or `accesslog`/`errorlog` in its config file), Node's pino/winston/morgan streams,
shell redirections in the start command, and the variables they are built from (`LOG_DIR` read from
the environment with a default, a Makefile variable, a compose `environment:`). Paths are resolved as
the backend will: relative to the directory it runs in, or to the source file for `__file__` and
`__dirname`, and through compose volumes back to the host. Existing files under logs/ count too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from perfdash.init.commands import CommandFacts, gunicorn_time_unit, read_command

LOG_EXT = (".log", ".jsonl", ".ndjson", ".txt", ".out")
_HANDLER = re.compile(r"\b(?:Rotating|TimedRotating|Watched)?FileHandler\(")
_FILENAME_KW = re.compile(r"""\b(?:filename|destination|dest|logfile|log_file)\s*[=:]\s*([^,}\n)]+)""")
_JS_STREAM = re.compile(r"""\b(?:pino\.destination|createWriteStream|SonicBoom)\(""")
_INI_ARGS = re.compile(r"""^\s*args\s*=\s*\(\s*(['"][^'"]+['"])""", re.MULTILINE)
_GUNICORN_CONF = re.compile(r"""^\s*(accesslog|errorlog|access_log_format)\s*=\s*(['"])(.*?)\2""",
                            re.MULTILINE)
_PY_ASSIGN = re.compile(r"""^([A-Z_][A-Z0-9_]*)\s*(?::\s*\w+\s*)?=\s*(.+)$""", re.MULTILINE)
_JS_ASSIGN = re.compile(r"""^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(.+?);?\s*$""",
                        re.MULTILINE)
_ENV_READ = re.compile(
    r"""^(?:os\.environ\.get|os\.getenv|environ\.get)\(\s*['"](\w+)['"]\s*(?:,\s*(.+))?\)$"""
    r"""|^os\.environ\[\s*['"](\w+)['"]\s*\]$"""
    r"""|^process\.env\.(\w+)\s*(?:\|\||\?\?)\s*(.+)$"""
    r"""|^(?:os\.environ\.get|os\.getenv)\(\s*['"](\w+)['"]\s*\)\s*or\s+(.+)$""")
_HERE = "\0here"  # stands for the source file's directory until it is joined


@dataclass(frozen=True)
class LogFound:
    path: str  # relative to the project
    kind: str  # "app" or "access"
    why: str
    exists: bool
    access_format: str | None = None  # access_log_format preset, when known
    time_unit: str | None = None


def _split_args(text: str) -> list[str]:
    args: list[str] = []
    depth = 0
    current = ""
    quote: str | None = None
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        args.append(current.strip())
    return args


def _split_top(text: str, op: str) -> list[str]:
    """Split on an operator outside brackets and quotes (`a / "b"`, `a + '/b'`)."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == op and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out = p if p.startswith(("/", _HERE)) or not out else out.rstrip("/") + "/" + p
    return out


def evaluate(expr: str, names: dict[str, str], env: dict[str, str], depth: int = 0) -> str | None:
    """A path expression in Python or JavaScript, with known names and environment; None if unknown."""
    expr = expr.strip().rstrip(";").strip()
    if depth > 6 or not expr:
        return None
    if expr in ("__dirname", "os.path.dirname(__file__)", "Path(__file__).parent",
                "Path(__file__).resolve().parent", "os.path.dirname(os.path.abspath(__file__))",
                "pathlib.Path(__file__).parent", "Path(__file__).absolute().parent"):
        return _HERE
    m = re.fullmatch(r"""[fr]?(['"])(.*)\1""", expr, re.DOTALL) or re.fullmatch(r"`(.*)`()", expr, re.DOTALL)
    if m:
        text = m[2] if m.lastindex == 2 and m[1] in "'\"" else m[1]
        for ref in re.findall(r"\$?\{([A-Za-z_]\w*)\}", text):
            value = names.get(ref)
            if value is None:
                return None
            text = re.sub(r"\$?\{" + ref + r"\}", value, text)
        return text
    env_read = _ENV_READ.match(expr)
    if env_read:
        groups = env_read.groups()
        var = groups[0] or groups[2] or groups[3] or groups[5]
        default = groups[1] or groups[4] or groups[6]
        if var in env:
            return env[var]
        return evaluate(default, names, env, depth + 1) if default else None
    call = re.fullmatch(r"(os\.path\.join|path\.join|path\.resolve|os\.path\.abspath|Path|pathlib\.Path|str|"
                        r"os\.fspath|os\.path\.expanduser)\((.*)\)", expr, re.DOTALL)
    if call:
        values = [evaluate(a, names, env, depth + 1) for a in _split_args(call[2])]
        return None if not values or None in values else _join([v for v in values if v is not None])
    for op in ("/", "+"):
        pieces = _split_top(expr, op)
        if len(pieces) > 1:
            values = [evaluate(p, names, env, depth + 1) for p in pieces]
            if None in values:
                return None
            strs = [v for v in values if v is not None]
            return _join(strs) if op == "/" else "".join(strs)
    if re.fullmatch(r"[A-Za-z_$][\w$]*", expr):
        return names.get(expr)
    return None


def _names(text: str, env: dict[str, str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for pattern in (_PY_ASSIGN, _JS_ASSIGN):
        for m in pattern.finditer(text):
            value = evaluate(m[2], names, env)
            if value is not None:
                names[m[1]] = value
    return names


def _resolve(path: str, here: Path, cwd: Path) -> Path:
    if path.startswith(_HERE):
        return (here / path[len(_HERE):].lstrip("/")).resolve()
    return (cwd / Path(path).expanduser()).resolve()


def _first_arg(text: str, open_at: int) -> str:
    """The first argument of the call whose `(` ends at open_at, brackets balanced."""
    depth = 1
    i = open_at
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    args = _split_args(text[open_at:i - 1])
    first = args[0] if args else ""
    kw = re.match(r"(?:filename|dest|destination)\s*=\s*(.*)$", first, re.DOTALL)
    if kw:
        return kw[1]
    obj = re.match(r"\{.*?\b(?:dest|destination|filename)\s*:\s*([^,}]+)", first, re.DOTALL)
    return obj[1] if obj else first


def paths_in_source(text: str, env: dict[str, str]) -> list[tuple[str, str, str, str | None]]:
    """(path expression's value, kind, why, access format) for each log a source file configures."""
    names = _names(text, env)
    found: list[tuple[str, str, str, str | None]] = []
    calls = [(m.start(), _first_arg(text, m.end()), why) for pattern, why in (
        (_HANDLER, "a logging FileHandler"), (_JS_STREAM, "a log stream")) for m in pattern.finditer(text)]
    assigned = [(m.start(), m[1], why) for pattern, why in (
        (_FILENAME_KW, "a logging filename"), (_INI_ARGS, "a logging config's handler args"))
        for m in pattern.finditer(text)]
    for start, expr, why in sorted([*calls, *assigned]):
        value = evaluate(expr, names, env)
        if value and (value.endswith(LOG_EXT) or "log" in value.lower()):
            line = text[text.rfind("\n", 0, start) + 1:text.find("\n", start)]
            morgan = re.search(r"""\bmorgan\(\s*['"](combined|common)['"]""", line)
            kind = "access" if ("access" in value.lower() or "morgan" in line) else "app"
            found.append((value, kind, why, morgan[1] if morgan else None))
    return found


@dataclass
class LogSearch:
    """Collects log candidates from every source, in order of trust, then picks one of each kind."""

    root: Path
    found: list[LogFound]

    def add(self, path: Path, kind: str, why: str, access_format: str | None = None,
            time_unit: str | None = None) -> None:
        root = self.root.resolve()
        if not path.is_relative_to(root) or path == root:
            return
        rel = path.relative_to(root).as_posix()
        if any(f.path == rel and f.kind == kind for f in self.found):
            return
        self.found.append(LogFound(rel, kind, why, path.is_file(), access_format, time_unit))

    def from_command(self, facts: CommandFacts, cwd: Path, source: str,
                     container: tuple[tuple[str, str], ...] = (), workdir: str | None = None) -> None:
        fmt, unit = gunicorn_time_unit(facts.access_format)
        for p in facts.access_logs:
            host = self._host_path(p, cwd, container, workdir)
            if host:
                self.add(host, "access", f"--access-logfile in {source}", fmt, unit)
        for p, why in facts.app_logs:
            host = self._host_path(p, cwd, container, workdir)
            if host:
                kind = "access" if "access" in p.lower() else "app"
                self.add(host, kind, f"{why} ({source})")

    def from_gunicorn_conf(self, text: str, cwd: Path, source: str) -> None:
        values = {m[1]: m[3] for m in _GUNICORN_CONF.finditer(text)}
        fmt, unit = gunicorn_time_unit(values.get("access_log_format"))
        if values.get("accesslog") not in (None, "-"):
            self.add(_resolve(values["accesslog"], cwd, cwd), "access", f"accesslog in {source}", fmt, unit)
        if values.get("errorlog") not in (None, "-"):
            self.add(_resolve(values["errorlog"], cwd, cwd), "app", f"errorlog in {source}")

    def from_source(self, file: Path, text: str, env: dict[str, str], cwd: Path,
                    container: tuple[tuple[str, str], ...] = (), workdir: str | None = None) -> None:
        rel = file.relative_to(self.root).as_posix()
        for value, kind, why, fmt in paths_in_source(text, env):
            if value.startswith(_HERE):
                host: Path | None = _resolve(value, file.parent, cwd)
            else:
                host = self._host_path(value, cwd, container, workdir)
            if host:
                self.add(host, kind, f"{why} in {rel}", fmt)

    def _host_path(self, path: str, cwd: Path, container: tuple[tuple[str, str], ...],
                   workdir: str | None) -> Path | None:
        """Where a path the backend writes lands on this machine (through compose volumes if any)."""
        if not container and workdir is None:
            return _resolve(path, cwd, cwd)
        inside = PurePosixPath(workdir or "/") / path
        for host, target in container:
            try:
                rest = inside.relative_to(PurePosixPath(target))
            except ValueError:
                continue
            return (self.root / host / rest).resolve()
        return None  # written inside the container only: not readable from here

    def best(self, kind: str) -> LogFound | None:
        """The first found in order of trust (the caller adds the app's own configuration first)."""
        return next((f for f in self.found if f.kind == kind), None)


def read_commands(lines: tuple[str, ...]) -> CommandFacts:
    return read_command(list(lines))
