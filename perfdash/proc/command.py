"""Running a short command (a seed command, a stop command, `docker compose down`) as a supervised
child with a timeout: own process group, output kept, nothing left behind. Used by seeding and
cleanup.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Redactor, Secret


@dataclass(frozen=True)
class ProcessResult:
    """How a command perfdash ran ended; `returncode` is None when it was stopped or never started."""

    returncode: int | None
    stdout: str
    stderr_tail: str
    elapsed_s: float
    timed_out: bool = False
    error: str | None = None


def run_process(name: str, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                timeout_s: float, out_dir: Path | None = None, shown: str = "",
                secrets: Sequence[Secret] = ()) -> ProcessResult:
    """Run a command in its own process group, stop it (INT, TERM, KILL) after `timeout_s`.

    Output goes to `<name>.stdout.log`/`.stderr.log` in `out_dir` (kept there for the run's
    artifacts) or in a temporary directory, redacted of `secrets` (and of any URL's password) on
    the way, like every child's output a run keeps. Whatever is left of its process group
    afterwards is killed, so a command that backgrounds a helper never leaves it behind.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="perfdash-") as tmp:
        where = out_dir or Path(tmp)
        stdout, stderr = where / f"{name}.stdout.log", where / f"{name}.stderr.log"
        supervisor = Supervisor(redact=Redactor(list(secrets)))
        try:
            child = supervisor.start(LaunchRequest(name, list(argv), cwd, stdout, stderr, env, shown))
        except OSError as exc:
            return ProcessResult(None, "", "", time.monotonic() - started,
                                 error=f"{exc.strerror or exc} ({exc.filename or argv[0]})")
        timed_out = False
        try:
            code: int | None = child.wait(timeout_s).returncode
        except subprocess.TimeoutExpired:
            timed_out, code = True, None
            child.stop()
        finally:
            supervisor.stop_all()
        out = stdout.read_text(encoding="utf-8", errors="replace")
        err_lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return ProcessResult(code, out, " | ".join(err_lines[-3:]), time.monotonic() - started,
                         timed_out=timed_out)
