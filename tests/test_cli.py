"""The CLI through its real entry point: bad input gets one clear sentence and exit 2, an unreachable
backend stops the run in preflight (exit 3) before any load, and the help answers quickly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfdash.net import free_port

from .conftest import ROOT

PERFDASH = str(Path(sys.executable).parent / "perfdash")


def perfdash(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
             ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    return subprocess.run([PERFDASH, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**clean, **(env or {})}, check=False)


def test_help_lists_commands_and_exit_codes() -> None:
    out = perfdash("--help")
    assert out.returncode == 0
    for word in ("run", "demo", "show", "doctor", "130 interrupted"):
        assert word in out.stdout
    run_help = perfdash("run", "--help").stdout
    assert "--skip-cleanup" in run_help
    assert "--verbose" in run_help


def test_unknown_profile_is_one_sentence_and_exit_2() -> None:
    out = perfdash("run", "--profile", "lod", "--env", "demo", "--headless")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "no profile 'lod'; choose one of:" in out.stderr
    assert "Traceback" not in out.stderr


def test_broken_toml_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "profiles.toml"
    bad.write_text('[profiles.smoke]\nmode = "parallel\n')
    out = perfdash("run", "--profile", "smoke", "--env", "demo", "--config", str(bad))
    assert out.returncode == 2
    assert "profiles.toml is not valid TOML" in out.stderr
    assert "line 2" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_env_file_names_the_example(tmp_path: Path) -> None:
    out = perfdash("run", "--profile", "smoke", "--env", "local", "--env-file",
                   str(tmp_path / ".env.performance"))
    assert out.returncode == 2
    assert "copy .env.performance.example" in out.stderr


@pytest.mark.slow  # the CLI runs k6 and node (its tool checks)
def test_unreachable_backend_stops_in_preflight_before_any_load(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {"PERF_BASE_URL": f"http://127.0.0.1:{port}",
           "PERF_DATABASE_URL": f"postgresql://perf:not-the-password@127.0.0.1:{free_port()}/x"}
    out = perfdash("run", "--profile", "smoke", "--env", "local", "--headless",
                   "--results-dir", str(tmp_path), env=env)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "[FAIL] backend reachable: nothing answers at" in out.stdout
    assert "start the backend, or fix PERF_BASE_URL" in out.stdout
    assert "[FAIL] database reachable: cannot connect" in out.stdout
    run_dir = next(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert any("backend reachable" in p["what"] for p in summary["problems"])
    assert not (run_dir / "k6-smoke.json").exists()  # no load was sent
    assert not (run_dir / "artillery.stdout.log").exists()
    everything = out.stdout + out.stderr + "".join(
        p.read_text(errors="replace") for p in run_dir.iterdir())
    assert "not-the-password" not in everything


@pytest.mark.slow  # the CLI runs k6 and node (its tool checks)
def test_doctor_checks_the_tools() -> None:
    out = perfdash("doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[ok  ] k6 runnable" in out.stdout
    assert "[ok  ] artillery runnable" in out.stdout
    assert "PostgreSQL server binaries" in out.stdout


def test_show_of_a_directory_without_summary(tmp_path: Path) -> None:
    out = perfdash("show", str(tmp_path))
    assert out.returncode == 2
    assert "summary.json is missing" in out.stderr
