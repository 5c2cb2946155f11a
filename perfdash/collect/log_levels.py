"""Counts a log's ERROR and WARN lines without reading it line by line.

The app-log tail (perfdash.collect.applog) counts every block it reads and the log pane colours the
lines it shows; both must agree on what a level is (a word near the start of a line, `level=error`,
or a JSON logger's level key), so the patterns live here, apart from the file following.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A level token further into a line than this is message text, not the line's level.
LEVEL_HEAD_BYTES = 48

_ERROR, _WARN = 1, 2
_WORD_TOKENS = ((b"ERROR", _ERROR), (b"FATAL", _ERROR), (b"CRITICAL", _ERROR), (b"WARN", _WARN))
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_LEVEL_VALUE = re.compile(rb"""["']?[ \t]*[=:][ \t]*["']?(?i:(error|fatal|critical)|(warn(?:ing)?))\b""")
# JSON loggers name the level under a key anywhere in the line (bunyan after name, hostname and pid;
# structlog after the event), as a word or as pino/bunyan's number (40 warn, 50 error, 60 fatal). One
# search with a literal prefix matches only the error and warning values, so the info lines of a JSON
# log cost a failed match in C each and no Python; an escaped key inside a message (`\"level\":50`)
# never matches. `levelname` is python-json-logger's key.
_JSON_LEVEL = re.compile(
    rb'"level(?:name)?": ?(?:"(?i:(error|fatal|critical|crit|alert|emerg|emergency|panic)'
    rb'|(warn|warning))"|([56]0)(?![0-9.])|40(?![0-9.]))')
# The same for a decoded line (the log pane's colours).
JSON_LEVEL_TEXT = re.compile(_JSON_LEVEL.pattern.decode())


def count_levels(block: bytes) -> tuple[int, int]:
    """(errors, warnings) among the lines of `block`, at most one level per line, the worse one winning.

    A `bytes.find` pass per token over the whole block, checking only the few hits, costs a fraction of
    splitting the block into lines (a per-line regex costs more still): that is what keeps a
    20k lines/s log under one percent of a core.
    """
    worst: dict[int, int] = {}  # line start -> most severe level found in the line's head
    for token, level in _WORD_TOKENS:
        for line, at in _head_hits(block, token):
            end = at + len(token)
            if token == b"WARN" and block[end:end + 3] == b"ING":
                end += 3
            if _starts_word(block, line, at) and (end == len(block) or block[end] not in _WORD_BYTES):
                worst[line] = min(worst.get(line, level), level)
    for line, at in _head_hits(block, b"level"):
        match = _LEVEL_VALUE.match(block, at + 5)
        if match and _starts_word(block, line, at):
            level = _ERROR if match.group(1) else _WARN
            worst[line] = min(worst.get(line, level), level)
    if b'"' in block:  # memchr: a plain log without quotes skips the search (0.01 ms against 0.3 per MB)
        for match in _JSON_LEVEL.finditer(block):
            line = block.rfind(b"\n", 0, match.start()) + 1
            level = _WARN if match.group(2) or not (match.group(1) or match.group(3)) else _ERROR
            worst[line] = min(worst.get(line, level), level)
    errors = sum(1 for level in worst.values() if level == _ERROR)
    return errors, len(worst) - errors


def _head_hits(block: bytes, token: bytes) -> Iterator[tuple[int, int]]:
    """(line start, index) of each `token` within the first bytes of a line; skips the rest of a line."""
    at = block.find(token)
    while at >= 0:
        line = block.rfind(b"\n", 0, at) + 1
        if at - line <= LEVEL_HEAD_BYTES:
            yield line, at
            at = block.find(token, at + len(token))
        else:
            newline = block.find(b"\n", at)
            if newline < 0:
                return
            at = block.find(token, newline)


def _starts_word(block: bytes, line: int, at: int) -> bool:
    """A word boundary before `at`, counting the end of a colour code (`ESC[31mERROR`) as one."""
    if at == line or block[at - 1] not in _WORD_BYTES:
        return True
    return block[at - 1] == ord("m") and block.rfind(b"\x1b[", max(line, at - 12), at) >= 0
