"""What starting a child process takes, as data: the load tools build it, the supervisor runs it.

It sits outside `run/` so a load tool can describe its command without depending on how children
are supervised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LaunchRequest:
    """Everything needed to start one child; `shown` is the command line as it may be logged."""

    name: str
    argv: Sequence[str]
    cwd: Path
    stdout: Path
    stderr: Path
    env: Mapping[str, str] = field(default_factory=dict)
    shown: str = ""
    api_port: int | None = None  # a loopback port the child serves its progress on, if any

    def display(self) -> str:
        return self.shown or " ".join(self.argv)
