"""Start commands of every shape, started and stopped as a run does (perfdash.run.backend_start and
backend_stop), against a real Python http.server: one that daemonises and exits 0 is waited on
through the health route; one in the foreground is the backend; what each started is stopped after,
by the stop command or the process group, and what escaped both is reported, never killed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfdash.net import free_port, probe
from perfdash.proc.supervisor import Supervisor
from perfdash.run import backend_stop
from perfdash.run.backend_start import (
    BackendStartError,
    StartedBackend,
    start_backend_if_down,
    wait_until_healthy,
)
from perfdash.run.backend_stop import stop_started_backend
from perfdash.run.preflight import check_backend
from perfdash.settings import Environment

from .daemon_project import DaemonProject, alive, make_daemon_project


def _env(project_dir: Path, start: str | None, stop: str | None = None, port: int = 0) -> Environment:
    return Environment(name="local", description="", kind="external",
                       base_url=f"http://127.0.0.1:{port}", database_url=None, api_token=None,
                       app_log=None, protected=False, health_path="/health", start_command=start,
                       stop_command=stop, working_dir=project_dir)


@pytest.fixture
def short_gone_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that escaped its group never lets go of its port: the stop would wait all of
    GONE_WAIT_S (5 s) for it before saying so. A second is plenty for one that does let go here."""
    monkeypatch.setattr(backend_stop, "GONE_WAIT_S", 1.0)


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    sup = Supervisor()
    yield sup
    sup.stop_all(2.0)


def _start(project: DaemonProject, tmp_path: Path, supervisor: Supervisor, lines: list[str],
           stop: str | None) -> StartedBackend:
    env = _env(project.root, "./scripts/start.sh", stop, project.port)
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    started = start_backend_if_down(env, project.base_url, supervisor, run_dir, lines.append)
    assert started is not None
    wait_until_healthy(started, lines.append, timeout_s=15)
    return started


def test_a_start_command_that_daemonises_is_waited_for_then_stopped_by_its_stop_command(
        tmp_path: Path, supervisor: Supervisor) -> None:
    project = make_daemon_project(tmp_path / "app")
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, "./scripts/stop.sh")
        assert started.daemonised, lines
        assert started.child.poll() == 0
        assert probe(project.base_url + "/health")[0] == 200
        pid = project.server_pid()
        assert stop_started_backend(started, lines.append) == []
        assert not alive(pid), f"the server (pid {pid}) outlived the run's stop"
        assert not project.pid_file.exists(), "stop.sh did not run: it removes the pid file"
        assert "stopped" in (tmp_path / "run" / "backend-stop.stdout.log").read_text()
        assert probe(project.base_url + "/health", timeout_s=1)[0] is None
    finally:
        project.kill_server()


def test_without_a_stop_command_what_it_left_in_its_process_group_is_stopped(
        tmp_path: Path, supervisor: Supervisor) -> None:
    project = make_daemon_project(tmp_path / "app")
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, None)
        pid = project.server_pid()
        assert started.daemonised
        assert stop_started_backend(started, lines.append) == []
        assert not alive(pid)
    finally:
        project.kill_server()


def test_a_backend_that_left_the_group_and_has_no_stop_command_is_reported_and_left_alone(
        tmp_path: Path, supervisor: Supervisor,
        short_gone_wait: None) -> None:
    project = make_daemon_project(tmp_path / "app", escape=True)
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, None)
        pid = project.server_pid()
        [problem] = stop_started_backend(started, lines.append)
        assert "was left running" in problem.what
        assert f"pid {pid} listens on port {project.port}" in problem.what
        assert "set stop_command of [environments.local]" in problem.fix
        assert alive(pid), "perfdash killed a process outside what it started"
        assert probe(project.base_url + "/health")[0] == 200
    finally:
        project.kill_server()


def test_a_backend_that_left_the_group_is_stopped_by_the_stop_command(
        tmp_path: Path, supervisor: Supervisor) -> None:
    project = make_daemon_project(tmp_path / "app", escape=True)
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, "./scripts/stop.sh")
        pid = project.server_pid()
        assert stop_started_backend(started, lines.append) == []
        assert not alive(pid)
    finally:
        project.kill_server()


def test_a_foreground_start_command_is_the_backend_and_stops_with_its_group(
        tmp_path: Path, supervisor: Supervisor) -> None:
    project = make_daemon_project(tmp_path / "app", foreground=True)
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, None)
        assert not started.daemonised
        assert started.child.poll() is None
        pid = project.server_pid()
        assert os.getpgid(pid) == started.child.pid  # in the group of the command perfdash started
        assert stop_started_backend(started, lines.append) == []
        assert started.child.poll() is not None
        assert not alive(pid)
        assert probe(project.base_url + "/health", timeout_s=1)[0] is None
    finally:
        project.kill_server()


def test_a_start_command_that_fails_is_still_a_failure(tmp_path: Path,
                                                       supervisor: Supervisor) -> None:
    port = free_port()
    env = _env(tmp_path, "echo no database >&2; exit 3", port=port)
    started = start_backend_if_down(env, f"http://127.0.0.1:{port}", supervisor, tmp_path,
                                    lambda _: None)
    assert started is not None
    with pytest.raises(BackendStartError, match="exited with code 3 before"):
        wait_until_healthy(started, lambda _: None, timeout_s=10)


def test_a_daemonising_start_command_whose_backend_never_answers_times_out(
        tmp_path: Path, supervisor: Supervisor) -> None:
    port = free_port()
    env = _env(tmp_path, "true", port=port)
    started = start_backend_if_down(env, f"http://127.0.0.1:{port}", supervisor, tmp_path,
                                    lambda _: None)
    assert started is not None
    began = time.monotonic()
    with pytest.raises(BackendStartError, match=r"exited 0 \(it started the backend in the "
                                                r"background\) but .* did not answer within 2 s"):
        wait_until_healthy(started, lambda _: None, timeout_s=2, poll_s=0.1)
    assert 1.9 < time.monotonic() - began < 8


def test_a_backend_that_answers_already_is_not_started(tmp_path: Path,
                                                       supervisor: Supervisor) -> None:
    project = make_daemon_project(tmp_path / "app")
    lines: list[str] = []
    try:
        started = _start(project, tmp_path, supervisor, lines, "./scripts/stop.sh")
        assert start_backend_if_down(started.env, project.base_url, supervisor, tmp_path,
                                     lines.append) is None
        stop_started_backend(started, lines.append)
    finally:
        project.kill_server()


def test_doctor_counts_a_backend_the_run_will_start_as_no_failure(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, "./scripts/start.sh", port=port)
    ahead = check_backend(env, f"http://127.0.0.1:{port}", start_when_down=True)
    assert ahead.status == "skip"
    assert ahead.detail == (f"down at http://127.0.0.1:{port}/health; run will start it with "
                            f"`./scripts/start.sh` in {tmp_path}")
    # in the run itself (the start has been tried) and without a start command, down is a failure
    assert check_backend(env, f"http://127.0.0.1:{port}").status == "fail"
    without = _env(tmp_path, None, port=port)
    assert check_backend(without, f"http://127.0.0.1:{port}", start_when_down=True).status == "fail"


def test_the_runs_cleanup_leaves_a_backend_the_run_started_to_the_run(tmp_path: Path) -> None:
    """With cleanup_after_run the cleanup would run stop_command too: not for a backend the run
    started, which backend_stop stops once (after the cleanup, whose rows may need its database)."""
    from dataclasses import replace

    from perfdash.run.datasteps import cleanup_step

    env = replace(_env(tmp_path, "./scripts/start.sh", "echo x >> stops"),
                  cleanup_after_run=True)
    lines: list[str] = []
    assert cleanup_step(env, None, tmp_path, lines.append, stop_backend=False) == []
    assert not (tmp_path / "stops").exists(), lines
    assert cleanup_step(env, None, tmp_path, lines.append) == []
    assert (tmp_path / "stops").read_text() == "x\n"


def test_a_secret_in_the_start_command_is_in_no_line_and_no_problem(
        tmp_path: Path, supervisor: Supervisor,
        short_gone_wait: None) -> None:
    project = make_daemon_project(tmp_path / "app", escape=True)
    env = _env(project.root, "API_KEY=k3y-secret-1234 ./scripts/start.sh", None, project.port)
    lines: list[str] = []
    try:
        started = start_backend_if_down(env, project.base_url, supervisor, tmp_path, lines.append)
        assert started is not None
        wait_until_healthy(started, lines.append, timeout_s=15)
        [problem] = stop_started_backend(started, lines.append)
        assert "`API_KEY=*** ./scripts/start.sh`" in problem.what
        assert started.child.request.display() == "API_KEY=*** ./scripts/start.sh"
        assert "k3y-secret-1234" not in " ".join([*lines, problem.what, problem.fix])
    finally:
        project.kill_server()
