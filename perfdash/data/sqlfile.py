"""Splitting a seed SQL file into statements: quotes, dollar quotes and comments respected, and
`:scale` (or `%(scale)s`) bound as a parameter. Used by the seeding step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

_DOLLAR_TAG: Final = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_SCALE: Final = re.compile(r"%\(scale\)s|(?<![:\w]):scale\b|%")


@dataclass(frozen=True)
class Statement:
    """One statement of a seed file: as written, where it starts, and as it is sent."""

    text: str
    line: int
    query: str
    uses_scale: bool

    @property
    def preview(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= 60 else flat[:57] + "..."


def _quote_end(text: str, start: int, quote: str, backslashes: bool) -> int:
    i = start + 1
    while i < len(text):
        ch = text[i]
        if backslashes and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if text.startswith(quote, i + 1):
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def _comment_end(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _segments(text: str) -> Iterator[tuple[bool, int, str]]:
    """(is_code, offset, chunk): code, and literals or comments that `;` and `:scale` never touch."""
    i = code_start = 0
    while i < len(text):
        ch, prev = text[i], text[i - 1] if i else " "
        if text.startswith("--", i):
            newline = text.find("\n", i)
            end = len(text) if newline < 0 else newline
        elif text.startswith("/*", i):
            end = _comment_end(text, i)
        elif ch == "'":
            escaped = prev in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] in "_$"))
            end = _quote_end(text, i, "'", escaped)
        elif ch == '"':
            end = _quote_end(text, i, '"', False)
        elif ch == "$" and not (prev.isalnum() or prev == "_") and (m := _DOLLAR_TAG.match(text, i)):
            close = text.find(m.group(0), m.end())
            end = len(text) if close < 0 else close + len(m.group(0))
        else:
            i += 1
            continue
        if code_start < i:
            yield True, code_start, text[code_start:i]
        yield False, i, text[i:end]
        i = code_start = end
    if code_start < len(text):
        yield True, code_start, text[code_start:]


def split_statements(text: str) -> list[Statement]:
    """The statements of a SQL file, each with its first line and its query with `:scale` bound."""
    statements: list[Statement] = []
    pieces: list[tuple[bool, int, str]] = []

    def close() -> None:
        # Comments before the first code belong to no statement: messages show the SQL itself.
        start = next((i for i, (is_code, _, chunk) in enumerate(pieces) if is_code and chunk.strip()),
                     None)
        if start is not None:
            body = pieces[start:]
            first = body[0][1] + len(body[0][2]) - len(body[0][2].lstrip())
            raw = "".join(chunk for _, _, chunk in body).strip()
            uses = any(m.group(0) != "%" for is_code, _, chunk in body if is_code
                       for m in _SCALE.finditer(chunk))
            query = raw
            if uses:
                query = "".join(
                    _SCALE.sub(lambda m: "%%" if m.group(0) == "%" else "%(scale)s", chunk)
                    if is_code else chunk.replace("%", "%%")
                    for is_code, _, chunk in body
                ).strip()
            statements.append(Statement(raw, text.count("\n", 0, first) + 1, query, uses))
        pieces.clear()

    for is_code, offset, chunk in _segments(text):
        if not is_code:
            pieces.append((False, offset, chunk))
            continue
        start = 0
        for part in chunk.split(";")[:-1]:
            pieces.append((True, offset + start, part))
            start += len(part) + 1
            close()
        pieces.append((True, offset + start, chunk[start:]))
    close()
    return statements
