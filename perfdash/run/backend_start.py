"""The environment's `start_command`, run when its backend is not answering yet: in the
environment's working directory, in its own process group, with the output in the run directory.

A start command comes in two shapes. One stays in the foreground (`npm run start`, `make run`): it
is the backend, and stops with the run. One daemonises (`docker compose up -d`, `pm2 start`, a
script that backgrounds node and exits 0): its exit code 0 says only that it launched something, so
the health route is what tells when the backend is up, until the timeout. A backend that was
already up is never touched. The orchestrator calls `start_backend_if_down` and then
`wait_until_healthy` before preflight; `perfdash.run.backend_stop` stops what was started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from perfdash.artifacts import RunPaths
from perfdash.launch import LaunchRequest
from perfdash.net import probe
from perfdash.proc.supervisor import Child, Supervisor
from perfdash.secret import redact_command
from perfdash.settings import Environment

START_TIMEOUT_S = 60.0
# How often the health route is asked while the backend starts: its first answer is seen within a
# tenth of a second, and a refused connection costs next to nothing.
HEALTH_POLL_S = 0.1


class BackendStartError(Exception):
    """The start command ran but the backend never answered; the message says what to check."""


@dataclass
class StartedBackend:
    """A backend perfdash started: the start command's child (its process group holds what it
    launched, unless something left the group) and how the command behaved."""

    env: Environment
    child: Child
    health_url: str
    cwd: Path
    run_dir: Path
    # The start command exited 0 before the backend answered: what it launched runs without it.
    daemonised: bool = False

    @property
    def command(self) -> str:
        """The start command as it may be shown: secrets written into it are `***`."""
        return _shown(self.env)


def _shown(env: Environment) -> str:
    return redact_command(env.start_command or "", env.secrets())


def start_backend_if_down(env: Environment, base_url: str, supervisor: Supervisor, run_dir: Path,
                          log: Callable[[str], None]) -> StartedBackend | None:
    """None when the backend already answers (or there is no start command); else what was
    started, not yet waited for (so the caller can stop it whatever the wait ends in)."""
    health = base_url + env.health_path
    if env.start_command is None or probe(health, timeout_s=2)[0] is not None:
        return None
    cwd = env.working_dir or Path.cwd()
    log(f"{health} does not answer: starting the backend with `{_shown(env)}` in {cwd}")
    child = supervisor.start(LaunchRequest(
        "backend", ["/bin/sh", "-c", env.start_command], cwd,
        RunPaths(run_dir).backend_stdout, RunPaths(run_dir).backend_stderr,
        shown=_shown(env)))
    return StartedBackend(env, child, health, cwd, run_dir)


def wait_until_healthy(started: StartedBackend, log: Callable[[str], None],
                       timeout_s: float = START_TIMEOUT_S, poll_s: float = HEALTH_POLL_S) -> None:
    """Return once the health route answers; raise BackendStartError when the start command
    fails (a non-zero exit) or nothing answers within `timeout_s`."""
    command, health = started.command, started.health_url
    deadline = time.monotonic() + timeout_s
    while True:
        code = started.child.poll() if not started.daemonised else None
        if code is not None and code != 0:
            raise BackendStartError(
                f"`{command}` exited with code {code} before {health} answered; "
                "see backend.stderr.log in the results directory")
        if code == 0:
            started.daemonised = True
            log(f"`{command}` exited 0 after {time.monotonic() - started.child.started:.1f} s: "
                f"it runs the backend in the background; waiting for {health}")
        if probe(health, timeout_s=2)[0] is not None:
            how = "in the background" if started.daemonised else f"as pid {started.child.pid}"
            log(f"{health} answers: the backend runs {how}")
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    if started.daemonised:
        raise BackendStartError(
            f"`{command}` exited 0 (it started the backend in the background) but {health} did "
            f"not answer within {timeout_s:.0f} s; check what it started (backend.stderr.log in "
            f"the results directory) and health_path of [environments.{started.env.name}]")
    raise BackendStartError(f"`{command}` ran for {timeout_s:.0f} s and {health} never "
                            f"answered; check start_command and health_path of [environments."
                            f"{started.env.name}]")
