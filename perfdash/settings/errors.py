"""The two kinds of settings problem: one already phrased for the user, and a tool's complaint
about its own table, which the reader turns into the first kind with the file and line added.
"""

from __future__ import annotations


class SettingsError(Exception):
    """A configuration problem, already phrased as one sentence for the user."""


class ToolTableError(ValueError):
    """A tool's complaint about its table: the key at fault (None: the table), what and the fix."""

    def __init__(self, key: str | None, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix
