"""The supervisor stops whole process groups in stages within one deadline, even stubborn ones."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor

# A child that ignores INT and TERM and forks a grandchild that does the same.
STUBBORN = """
import os, signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.fork()
print("ready", flush=True)
time.sleep(600)
"""

POLITE = """
import signal, sys, time
signal.signal(signal.SIGINT, lambda *a: sys.exit(7))
print("ready", flush=True)
time.sleep(600)
"""


def _start(tmp_path: Path, code: str, name: str) -> tuple[Supervisor, int]:
    sup = Supervisor()
    child = sup.start(LaunchRequest(name, [sys.executable, "-c", code], tmp_path,
                                    tmp_path / f"{name}.out", tmp_path / f"{name}.err"))
    deadline = time.monotonic() + 10
    while b"ready" not in (tmp_path / f"{name}.out").read_bytes():
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.05)
    return sup, child.pid


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.pid != pgid and __import__("os").getpgid(p.pid) == pgid and p.status() != "zombie":
                members.append(p)
        except (psutil.Error, ProcessLookupError):
            continue
    return members


def test_polite_child_stops_on_sigint(tmp_path: Path) -> None:
    sup, pid = _start(tmp_path, POLITE, "polite")
    outcomes = sup.stop_all(deadline_s=5)
    assert [(o.returncode, o.stopped_by) for o in outcomes] == [(7, "SIGINT")]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_stubborn_group_is_killed_within_the_deadline(tmp_path: Path) -> None:
    sup, pid = _start(tmp_path, STUBBORN, "stubborn")
    time.sleep(0.2)
    assert _group_members(pid), "the grandchild should be in the child's group"
    start = time.monotonic()
    outcomes = sup.stop_all(deadline_s=1)
    elapsed = time.monotonic() - start
    assert outcomes[0].stopped_by == "SIGKILL"
    assert outcomes[0].returncode == -9
    assert elapsed < 3
    time.sleep(0.2)
    assert _group_members(pid) == []  # the grandchild went with it
