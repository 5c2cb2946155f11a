"""Walking the parsed profiles.toml: every section reader asks this one for typed values, so every
mistake becomes the same kind of sentence, naming the line, the key and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.settings.errors import SettingsError


class TomlReader:
    """Walks the parsed TOML, turning each mistake into a sentence that points at the line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def where(self, table: str, key: str | None = None) -> str:
        """`profiles.toml line 12` for a key or table header, or the dotted key when not found."""
        header = re.compile(r"^\s*\[+\s*" + re.escape(table) + r"(\.[^\]]*)?\s*\]+")
        start = next((i for i, ln in enumerate(self.lines) if header.match(ln)), None)
        if start is not None and key is not None:
            key_re = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
            for i in range(start + 1, len(self.lines)):
                if self.lines[i].lstrip().startswith("["):
                    break
                if key_re.match(self.lines[i]):
                    return f"{self.path.name} line {i + 1} ({table}.{key})"
        if start is not None:
            return f"{self.path.name} line {start + 1} ([{table}]{'.' + key if key else ''})"
        return f"{self.path.name} ({table}{'.' + key if key else ''})"

    def fail(self, table: str, key: str | None, problem: str, fix: str) -> SettingsError:
        return SettingsError(f"{self.where(table, key)}: {problem}; {fix}.")

    def table(self, data: Mapping[str, Any], table: str, key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(table, key, "expected a table", f"write it as [{table}.{key}]")
        return value

    def str_(self, data: Mapping[str, Any], table: str, key: str, default: str | None = None,
             ) -> str | None:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(table, key, f"expected a string, got {value!r}", "quote the value")
        return value

    def bool_(self, data: Mapping[str, Any], table: str, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(table, key, f"expected true or false, got {value!r}",
                            "write true or false without quotes")
        return value

    def number(self, data: Mapping[str, Any], table: str, key: str, default: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(table, key, f"expected a number, got {value!r}",
                            "write a finite number without quotes")
        return float(value)

    def known(self, data: Mapping[str, Any], table: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key {key!r}",
                                f"use one of: {', '.join(sorted(allowed))}")
