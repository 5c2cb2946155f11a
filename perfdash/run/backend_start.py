"""The environment's `start_command`, run when its backend is not answering yet: in the
environment's working directory, in its own process group, with the output in the run directory.

A backend perfdash started is a child of the run and stops with it; one that was already up is
never touched. The orchestrator calls `start_backend_if_down` before preflight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from perfdash.launch import LaunchRequest
from perfdash.net import probe
from perfdash.proc.supervisor import Child, Supervisor
from perfdash.settings import Environment

START_TIMEOUT_S = 60.0


class BackendStartError(Exception):
    """The start command ran but the backend never answered; the message says what to check."""


def start_backend_if_down(env: Environment, base_url: str, supervisor: Supervisor, run_dir: Path,
                          log: Callable[[str], None], timeout_s: float = START_TIMEOUT_S,
                          ) -> Child | None:
    """None when the backend already answers (or there is no start command); else the child."""
    health = base_url + env.health_path
    if env.start_command is None or probe(health, timeout_s=2)[0] is not None:
        return None
    cwd = env.working_dir or Path.cwd()
    log(f"{health} does not answer: starting the backend with `{env.start_command}` in {cwd}")
    child = supervisor.start(LaunchRequest(
        "backend", ["/bin/sh", "-c", env.start_command], cwd,
        run_dir / "backend.stdout.log", run_dir / "backend.stderr.log",
        shown=env.start_command))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            raise BackendStartError(
                f"`{env.start_command}` exited with code {code} before {health} answered; "
                "see backend.stderr.log in the results directory")
        if probe(health, timeout_s=2)[0] is not None:
            return child
        time.sleep(0.5)
    child.stop(5.0)
    raise BackendStartError(f"`{env.start_command}` ran for {timeout_s:.0f} s and {health} never "
                            f"answered; check start_command and health_path of [environments."
                            f"{env.name}]")
