"""What cleanup can do, as values: the plan the user confirms and the result of each action.

`perfdash.data.cleanup` builds a `CleanupPlan` (looking only) and carries it out; the seeded rows
are planned and removed by `perfdash.data.cleanup_rows`, the backend and compose project by
`perfdash.data.cleanup_services`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final, Literal, Protocol

import psycopg

from perfdash.data.ledger import rows_text
from perfdash.secret import Secret, scrub

SEEDED_DATA: Final = "seeded-data"
BACKEND: Final = "backend"
COMPOSE: Final = "compose"

COMMAND_TIMEOUT_S: Final = 60.0


class CleanupError(Exception):
    """Cleanup was asked for in a way perfdash refuses; the message says how to ask properly."""


class CleanupNotConfirmed(CleanupError):
    """`execute` without `confirmed=True`: nothing is removed unless the user said yes."""


class StoppableProcess(Protocol):
    """A backend perfdash started: a supervisor `Child` or a `DemoBackend` (pid == process group)."""

    @property
    def pid(self) -> int: ...

    def stop(self, deadline_s: float = 5.0) -> object: ...


@dataclass(frozen=True)
class RemoveSeededData:
    """Delete the rows the ledger lists (`rows_by_table` in deletion order, children first)."""

    environment: str
    rows_by_table: Mapping[str, int]
    run_ids: tuple[str, ...]
    protected: bool
    url: Secret | None = field(default=None, repr=False, compare=False)
    available: bool = True
    reason: str = ""
    # Rows in the ledger without a recorded environment (recorded before perfdash kept it), kept
    # unless cleanup was asked to include them: they may belong to another environment.
    unattributed: Mapping[str, int] = field(default_factory=dict)
    name: ClassVar[str] = SEEDED_DATA

    def describe(self) -> str:
        kept = ""
        if self.unattributed:
            listed = ", ".join(f"{n} from {t}" for t, n in self.unattributed.items())
            kept = (f"; keeping {listed} whose seeding environment is unknown (pass "
                    "--include-unattributed to delete those too)")
        if not self.rows_by_table:
            return "delete the rows perfdash seeded" + kept
        parts = [f"{rows_text(n)} from {t}" if i == 0 else f"{n} from {t}"
                 for i, (t, n) in enumerate(self.rows_by_table.items())]
        return "delete " + ", ".join(parts) + " (seeded by perfdash)" + kept


@dataclass(frozen=True)
class StopBackend:
    """Stop the backend: the process perfdash started, or the environment's stop_command."""

    how: Literal["stop_command", "pid"]
    detail: str
    process: StoppableProcess | None = field(default=None, repr=False, compare=False)
    cwd: Path | None = None
    timeout_s: float = COMMAND_TIMEOUT_S
    secrets: tuple[Secret, ...] = field(default=(), repr=False, compare=False)
    available: bool = True
    reason: str = ""
    name: ClassVar[str] = BACKEND

    def describe(self) -> str:
        if self.how == "pid":
            return (f"stop the backend perfdash started ({self.detail}): INT, then TERM, then KILL "
                    "to its process group")
        return f"run the stop command `{self.detail}`"


@dataclass(frozen=True)
class ComposeDown:
    """`docker compose -f FILE down`: containers and networks go, volumes are kept."""

    compose_file: Path
    project: str
    argv: tuple[str, ...]
    timeout_s: float = COMMAND_TIMEOUT_S
    available: bool = True
    reason: str = ""
    name: ClassVar[str] = COMPOSE

    @property
    def shown(self) -> str:
        return " ".join(self.argv)

    def describe(self) -> str:
        return (f"run `{self.shown}`: stop and remove the containers and networks of compose "
                f"project '{self.project}' (volumes are kept)")


CleanupAction = RemoveSeededData | StopBackend | ComposeDown


@dataclass(frozen=True)
class CleanupPlan:
    environment: str
    actions: tuple[CleanupAction, ...]

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.actions]

    def action(self, name: str) -> CleanupAction | None:
        return next((a for a in self.actions if a.name == name), None)

    def available(self) -> set[str]:
        """The names a "clean up everything possible" button would select."""
        return {a.name for a in self.actions if a.available}

    def describe(self) -> list[str]:
        """One line per action, as the CLI prints it before asking."""
        return [a.describe() if a.available else f"{a.describe()} -- not possible: {a.reason}"
                for a in self.actions]


@dataclass(frozen=True)
class ActionResult:
    name: str
    ok: bool
    detail: str


def failure_message(exc: BaseException, secrets: list[Secret]) -> str:
    """One line of why, from PostgreSQL's primary message when there is one, secrets scrubbed."""
    if isinstance(exc, psycopg.Error) and exc.diag and exc.diag.message_primary:
        text = exc.diag.message_primary
    else:
        text = str(exc) or type(exc).__name__
    return scrub(text.strip().splitlines()[0], secrets).rstrip(".")
