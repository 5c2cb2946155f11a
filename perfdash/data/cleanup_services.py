"""The backend and the compose project: planning their stop (is there anything to stop, can docker
run) and stopping them, the backend's whole process group included."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import psutil

from perfdash.data.cleanup_actions import (
    BACKEND,
    ActionResult,
    ComposeDown,
    StopBackend,
    StoppableProcess,
)
from perfdash.proc.command import run_process
from perfdash.secret import Secret, scrub
from perfdash.settings import Environment

_DOCKER_PROBE_S: Final = 10.0


def plan_backend(env: Environment, backend: StoppableProcess | None, cwd: Path, timeout_s: float,
                  url: Secret | None) -> StopBackend | None:
    secrets = tuple(env.secrets()) + ((url,) if url else ())
    if backend is not None:
        try:
            pid = backend.pid
        except RuntimeError:
            return StopBackend("pid", "not started", backend, cwd, timeout_s, secrets, False,
                               "the backend was never started, so there is nothing to stop")
        if not group_members(pid):
            return StopBackend("pid", f"pid {pid}", backend, cwd, timeout_s, secrets, False,
                               f"the backend (pid {pid}) has already exited")
        return StopBackend("pid", f"pid {pid}", backend, cwd, timeout_s, secrets)
    if not env.stop_command:
        return None
    # The shell reports a missing program itself; guessing here would trip over builtins like `cd`.
    return StopBackend("stop_command", env.stop_command, None, cwd, timeout_s, secrets)


def compose_project(compose_file: Path) -> str:
    """The project name `docker compose -f FILE` uses: COMPOSE_PROJECT_NAME, `name:`, or the folder."""
    name = os.environ.get("COMPOSE_PROJECT_NAME", "")
    if not name:
        try:
            found = re.search(r"^name:\s*['\"]?([^'\"\s#]+)", compose_file.read_text(errors="replace"),
                              re.M)
        except OSError:
            found = None
        name = found.group(1) if found else compose_file.resolve().parent.name
    return re.sub(r"^[^a-z0-9]+", "", re.sub(r"[^a-z0-9_-]", "", name.lower()))


def plan_compose(env: Environment, compose_file: Path, timeout_s: float) -> ComposeDown:
    project = compose_project(compose_file)
    argv = ("docker", "compose", "-f", str(compose_file), "down")

    def unavailable(reason: str, args: tuple[str, ...] = argv) -> ComposeDown:
        return ComposeDown(compose_file, project, args, timeout_s, False, reason)

    shown = " ".join(argv)
    if not compose_file.is_file():
        return unavailable(f"{compose_file} does not exist: cannot run `{shown}`; fix compose_file "
                           f"of [environments.{env.name}] in profiles.toml")
    docker, legacy = shutil.which("docker"), shutil.which("docker-compose")
    if docker is None and legacy is None:
        return unavailable(f"docker is not installed: cannot run `{shown}`")
    if docker is not None:
        engine = _probe([docker, "info", "--format", "{{.ServerVersion}}"], compose_file.parent)
        if engine is not None:
            return unavailable(f"the docker engine is not running ({engine}): cannot run `{shown}`; "
                               "start Docker, then run cleanup again")
        if _probe([docker, "compose", "version"], compose_file.parent) is None:
            return ComposeDown(compose_file, project, argv, timeout_s)
    if legacy is not None:
        return ComposeDown(compose_file, project,
                           ("docker-compose", "-f", str(compose_file), "down"), timeout_s)
    return unavailable(f"docker compose is not installed (no compose plugin, no docker-compose): "
                       f"cannot run `{shown}`; install the docker-compose-plugin package")


def _probe(argv: Sequence[str], cwd: Path) -> str | None:
    """None when the command succeeds, else the gist of why (its first stderr line)."""
    result = run_process("docker-probe", argv, cwd=cwd, env={}, timeout_s=_DOCKER_PROBE_S)
    if result.returncode == 0:
        return None
    if result.timed_out:
        return f"`{' '.join(argv[1:3])}` did not answer within {_DOCKER_PROBE_S:g} s"
    gist = result.error or result.stderr_tail.split(" | ")[0] or f"exit code {result.returncode}"
    return gist.removesuffix(" Is the docker daemon running?").rstrip(". ")


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group: what "no orphans left" is checked against."""
    members: list[int] = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def stop_backend(action: StopBackend) -> ActionResult:
    # The process check is repeated now: a backend that exited since planning is simply done.
    if action.how == "pid" and action.process is not None:
        try:
            return _stop_process(action.process)
        except RuntimeError as exc:  # a DemoBackend that was never started
            return ActionResult(action.name, False, f"cannot stop the backend: {exc}")
    if not action.available:
        return ActionResult(action.name, False, action.reason)
    command = action.detail
    result = run_process("stop-command", ["/bin/sh", "-c", command], cwd=action.cwd or Path.cwd(),
                         env={}, timeout_s=action.timeout_s, shown=command)
    if result.error:
        return ActionResult(action.name, False, f"cannot run `{command}`: {result.error}")
    if result.timed_out:
        return ActionResult(action.name, False, f"`{command}` did not finish within "
                            f"{action.timeout_s:g} s and was stopped; the backend may still run")
    if result.returncode != 0:
        tail = scrub(result.stderr_tail, list(action.secrets))
        return ActionResult(action.name, False, f"`{command}` exited with code {result.returncode}"
                            f"{': ' + tail if tail else ''}; the backend may still run")
    return ActionResult(action.name, True, f"ran `{command}` (exit 0 after {result.elapsed_s:.1f} s)")


def _stop_process(process: StoppableProcess) -> ActionResult:
    pid = process.pid
    if not group_members(pid):
        return ActionResult(BACKEND, True, f"the backend (pid {pid}) had already exited")
    process.stop(5.0)
    deadline = time.monotonic() + 2.0
    while (left := group_members(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        # A member that left the leader's wait behind (a forked worker): it must not outlive us.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
        if survivors := group_members(pid):
            return ActionResult(BACKEND, False, f"the backend (pid {pid}) stopped but processes "
                                f"{', '.join(map(str, survivors))} of its group survived SIGKILL")
    return ActionResult(BACKEND, True, f"stopped the backend (pid {pid}) and its whole process group")


def compose_down(action: ComposeDown) -> ActionResult:
    if not action.available:
        return ActionResult(action.name, False, action.reason)
    result = run_process("compose-down", action.argv, cwd=action.compose_file.parent, env={},
                         timeout_s=action.timeout_s, shown=action.shown)
    if result.error:
        return ActionResult(action.name, False, f"cannot run `{action.shown}`: {result.error}")
    if result.timed_out:
        return ActionResult(action.name, False, f"`{action.shown}` did not finish within "
                            f"{action.timeout_s:g} s and was stopped")
    if result.returncode != 0:
        if "Cannot connect to the Docker daemon" in result.stderr_tail:
            return ActionResult(action.name, False, f"the docker engine is not running: cannot run "
                                f"`{action.shown}`; start Docker, then run cleanup again")
        return ActionResult(action.name, False, f"`{action.shown}` exited with code "
                            f"{result.returncode}: {result.stderr_tail or 'no error output'}")
    return ActionResult(action.name, True, f"ran `{action.shown}`: compose project "
                        f"'{action.project}' is down")
