"""Stopping the backend a run started, at the end of the run (the orchestrator's cleanup phase).

What perfdash started is stopped, and nothing else: a foreground start command's process group
(INT, TERM, KILL, as for every child); for a daemonised one the environment's `stop_command` (the
only way to reach what left the group: containers, a pm2 daemon), then whatever is left of the
group the start command made. A backend that still answers afterwards is reported with the pids
that listen on its port, never killed: those processes are not known to be ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from perfdash.collect.backend_process import listening_pids, local_port
from perfdash.data.cleanup_services import group_members
from perfdash.net import probe
from perfdash.proc.command import run_process
from perfdash.run.backend_start import StartedBackend
from perfdash.secret import redact_command, scrub

STOP_COMMAND_TIMEOUT_S = 60.0
LEFTOVER_GRACE_S = 3.0  # between TERM and KILL to what is left of the start command's group
GONE_WAIT_S = 5.0  # how long a stopped backend may take to close its port


@dataclass(frozen=True)
class StopProblem:
    """One sentence for the run's problems and the fix beside it."""

    what: str
    fix: str


def stop_started_backend(started: StartedBackend, log: Callable[[str], None],
                         timeout_s: float = STOP_COMMAND_TIMEOUT_S) -> list[StopProblem]:
    """Stop what the start command started; the problems say what is still running and why."""
    env, child = started.env, started.child
    secrets = env.secrets()
    problems: list[StopProblem] = []
    ran_stop_command = False
    if child.poll() is None:  # in the foreground: the start command is the backend
        log(f"stopping the backend perfdash started (pid {child.pid}) and its process group")
        child.stop(5.0, log)
    elif env.stop_command:
        problems += _run_stop_command(started, log, timeout_s)
        ran_stop_command = True
    _stop_leftovers(child.pid, log)
    if _still_up(started) and env.stop_command and not ran_stop_command:
        # A foreground command whose backend escaped its group (a server that daemonises itself).
        problems += _run_stop_command(started, log, timeout_s)
        ran_stop_command = True
    if not _still_up(started, wait_s=GONE_WAIT_S):
        log(f"the backend perfdash started is stopped ({started.health_url} no longer answers)")
        return problems
    where = _listeners(started)
    shown = started.command
    name = f"[environments.{env.name}]"
    if ran_stop_command:
        stop = redact_command(env.stop_command or "", secrets)
        problems.append(StopProblem(
            f"the backend perfdash started with `{shown}` was left running after `{stop}`: {where}",
            f"check stop_command of {name}: it should stop what start_command starts"))
    else:
        problems.append(StopProblem(
            f"the backend perfdash started with `{shown}` was left running (it is not in the "
            f"process group perfdash started, and {name} has no stop_command): {where}",
            f"set stop_command of {name} so the run can stop what it starts; stop those "
            "processes yourself until then"))
    log(scrub(problems[-1].what, secrets))
    return problems


def _run_stop_command(started: StartedBackend, log: Callable[[str], None],
                      timeout_s: float) -> list[StopProblem]:
    env = started.env
    command = env.stop_command or ""
    secrets = env.secrets()
    shown = redact_command(command, secrets)
    log(f"stopping the backend perfdash started with `{shown}` in {started.cwd}")
    result = run_process("backend-stop", ["/bin/sh", "-c", command], cwd=started.cwd, env={},
                         timeout_s=timeout_s, out_dir=started.run_dir, shown=shown, secrets=secrets)
    fix = f"check stop_command of [environments.{env.name}]"
    if result.error:
        return [StopProblem(f"cannot run the stop command `{shown}`: {result.error}", fix)]
    if result.timed_out:
        return [StopProblem(f"the stop command `{shown}` did not finish within {timeout_s:g} s "
                            "and was stopped", fix)]
    if result.returncode != 0:
        tail = scrub(result.stderr_tail, secrets)
        return [StopProblem(f"the stop command `{shown}` exited with code {result.returncode}"
                            + (f": {tail}" if tail else ""), fix)]
    log(f"`{shown}` exited 0 after {result.elapsed_s:.1f} s")
    return []


def _stop_leftovers(pgid: int, log: Callable[[str], None]) -> None:
    """What the start command left in its own process group (a backgrounded server): ours, so
    TERM (a backgrounded job of a non-interactive shell ignores INT), then KILL."""
    left = group_members(pgid)
    if not left:
        return
    log(f"stopping what the start command left running in its process group: pids "
        f"{', '.join(map(str, left))}")
    for sig, wait_s in ((signal.SIGTERM, LEFTOVER_GRACE_S), (signal.SIGKILL, 1.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_members(pgid):
            return


def _still_up(started: StartedBackend, wait_s: float = 0.0) -> bool:
    """Whether the backend still answers on its health route or listens on its port, allowing it
    `wait_s` to let go of the port."""
    deadline = time.monotonic() + wait_s
    while True:
        port = local_port(started.health_url)
        up = probe(started.health_url, timeout_s=2)[0] is not None or bool(
            port is not None and listening_pids(port))
        if not up or time.monotonic() >= deadline:
            return up
        time.sleep(0.2)


def _listeners(started: StartedBackend) -> str:
    port = local_port(started.health_url)
    if port is None:
        return f"{started.health_url} still answers (on another machine: its processes are not " \
               "visible from here)"
    pids = listening_pids(port)
    if not pids:
        return f"{started.health_url} still answers (no process this user can see listens on " \
               f"port {port})"
    return f"{'pid' if len(pids) == 1 else 'pids'} {', '.join(map(str, pids))} " \
           f"listen{'s' if len(pids) == 1 else ''} on port {port}"
