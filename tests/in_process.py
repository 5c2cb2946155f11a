"""`perfdash ARGS` run inside the test's own process, through the real entry point (`perfdash.cli.main`).

A `python -m perfdash` child costs a fresh interpreter and a fresh import of numpy, scipy and
ruptures (over a second of CPU for `compare` or `history`) on every call; the command itself is a
fraction of that. Tests that check what a command prints and returns call it here instead, with the
same arguments, working directory and environment they would give the child; tests about the process
itself (signals, the console script, secrets in a child's output) keep starting one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from perfdash.cli import main


@dataclass(frozen=True)
class Finished:
    """What `subprocess.run(..., capture_output=True, text=True)` would have returned."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _environment(env: Mapping[str, str] | None, cwd: Path | str | None) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_perfdash(args: Sequence[str], *, cwd: Path | str | None = None,
                 env: Mapping[str, str] | None = None) -> Finished:
    """`perfdash *args` with its stdout, stderr and exit code; `env` replaces the environment for
    the call, as `subprocess.run(env=...)` would, and both it and `cwd` are restored after."""
    out, err = io.StringIO(), io.StringIO()
    with _environment(env, cwd), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Finished(code, out.getvalue(), err.getvalue())
