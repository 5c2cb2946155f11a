"""`.env.performance`: the secrets file, read the way python-dotenv reads it but with every line it
cannot read a sentence naming the line, and the process's PERF_ variables over it for CI.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

from dotenv.main import resolve_variables
from dotenv.parser import parse_stream

from perfdash.settings.errors import SettingsError

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def _line_key(line: str) -> str:
    """`the key PERF_API_TOKEN` for a line that looks like an assignment, else `no key`."""
    m = _ASSIGNMENT.match(line)
    return f"key {m.group(1)}" if m else "no recognisable key"


def read_text_utf8(path: Path) -> str:
    """A settings file's text; a file that is not UTF-8 is a SettingsError naming the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"{path} cannot be read ({exc.strerror}); make it a readable file."
                            ) from None
    if data.startswith(codecs.BOM_UTF8):
        # Editors on Windows add it; TOML and dotenv read it as part of the first key.
        raise SettingsError(f"{path.name} starts with a UTF-8 byte order mark (BOM), which "
                            "would be read as part of its first line; save it as UTF-8 without "
                            "BOM.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data[:exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        line = data[start:end if end >= 0 else len(data)].decode("utf-8", "replace")
        raise SettingsError(
            f"{path.name} line {line_no} ({_line_key(line)}) is not UTF-8 text (byte "
            f"0x{data[exc.start]:02x} at column {exc.start - start + 1}); save the file as UTF-8."
        ) from None


def parse_env_text(path: Path, text: str) -> dict[str, str | None]:
    """`KEY=value` lines the way python-dotenv reads them (quotes, `export`, `${VAR}`), but every
    line it cannot read is a SettingsError naming the file, the line and the variable it would have
    set, instead of a warning without a file name and a silently missing secret."""
    import io

    bindings = list(parse_stream(io.StringIO(text)))
    for b in bindings:
        if not b.error:
            continue
        line = b.original.string.splitlines()[0] if b.original.string else ""
        m = _ASSIGNMENT.match(line)
        # The line's text is not shown: it may hold (part of) a secret.
        lost = f"so {m.group(1)} is not set" if m else "it sets no variable"
        quotes = bool(m) and (line.count('"') % 2 == 1 or line.count("'") % 2 == 1)
        hint = ("close the quote on that line" if quotes
                else "write it as NAME=value, or start it with # to make it a comment")
        raise SettingsError(f"{path.name} line {b.original.line} cannot be read ({lost}); {hint}.")
    pairs = [(b.key, b.value) for b in bindings if b.key is not None]
    return dict(resolve_variables(pairs, override=True))


def read_env_file(path: Path) -> dict[str, str | None]:
    """`.env.performance` merged under the process environment (CI injects secrets as env vars)."""
    values: dict[str, str | None] = (parse_env_text(path, read_text_utf8(path))
                                     if path.is_file() else {})
    values.update({k: v for k, v in os.environ.items() if k.startswith("PERF_")})
    return values
