"""Attaching to runs the world has changed: a recording with a line longer than a read, a copied
run (its recording names the original's directory; its summary may be broken), and a lock held by
a program that is not perfdash. Finished runs are real directories with a real recording and lock;
the foreign lock holder is a real process, and `attach` runs as the user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfdash.cli import main
from perfdash.events import LogLinesRead, PhaseChanged, RunFinished, RunStarted, to_record
from perfdash.follow.lines import LineReader
from perfdash.run.liveness import RunLock

from .conftest import ROOT

PERFDASH = str(Path(sys.executable).parent / "perfdash")
SUMMARY = ROOT / "tests" / "data" / "smoke-pass" / "summary.json"


def _finished_run(run_dir: Path, *, log_bytes: int = 0) -> Path:
    """A run directory as a finished run leaves it: its recording, its summary, its free lock."""
    run_dir.mkdir(parents=True)
    RunLock(run_dir).release()
    shutil.copy(SUMMARY, run_dir / "summary.json")  # status pass, exit 0
    events = [RunStarted(run_dir.name, str(run_dir), "smoke", "demo", 20.0)]
    if log_bytes:
        # A log batch of JSON-escaped binary: every byte becomes \\u00XX in the recording.
        line = "".join(chr(c % 32) for c in range(1000))
        events.append(LogLinesRead(tuple([line] * (log_bytes // 6000 + 1)), 0, 0))
    events += [RunFinished("pass", 0, str(run_dir / "summary.json")), PhaseChanged("done", "pass")]
    with (run_dir / "events.ndjson").open("w") as f:
        for event in events:
            f.write(json.dumps(to_record(event)) + "\n")
    return run_dir


def _attach(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["attach", "--headless", str(run_dir)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_a_recorded_line_of_several_megabytes_is_read_whole(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    run = _finished_run(tmp_path / "run", log_bytes=4_500_000)
    longest = max(len(line) for line in (run / "events.ndjson").read_bytes().split(b"\n"))
    assert longest > 4_000_000
    code, out, err = _attach(run, capsys)
    assert code == 0, err
    assert "stopped without finishing" not in err + out
    assert f"results: {run}" in out


def test_a_line_past_the_bound_is_skipped_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 5000 + b'\n{"b": 2}\n')
    reader = LineReader(path, max_line=1000)
    seen: list[str] = []
    for _ in range(20):  # a read stops at each line's end, the skipped one's too
        seen += reader.read(max_bytes=700)
    assert seen == ['{"a": 1}', '{"b": 2}']
    assert reader.offset == path.stat().st_size
    notes = reader.take_notes()
    assert len(notes) == 1
    assert "at byte 9" in notes[0]
    assert "1000 bytes" in notes[0]


def test_a_line_longer_than_a_read_still_being_written_is_held_back(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"y" * 3000)
    reader = LineReader(path)
    assert reader.read(max_bytes=1000) == []
    with path.open("ab") as f:
        f.write(b"y\n")
    assert reader.read(max_bytes=1000) == ["y" * 3001]


def test_a_copied_run_is_followed_where_it_is(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    original = _finished_run(tmp_path / "original")
    copy = Path(shutil.copytree(original, tmp_path / "copy"))
    code, out, err = _attach(copy, capsys)
    assert code == 0, err
    assert f"results: {copy}" in out
    assert str(original) not in out + err


def test_a_copied_run_with_a_broken_summary_is_not_given_the_recorded_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = _finished_run(tmp_path / "original")
    copy = Path(shutil.copytree(original, tmp_path / "copy"))
    text = (copy / "summary.json").read_text()
    (copy / "summary.json").write_text(text[: len(text) // 2])  # cut short by a full disk
    code, out, err = _attach(copy, capsys)
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(copy) in lines[0]
    assert "summary.json is not valid JSON" in lines[0]
    assert str(original) not in out + err


HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("pid_in_lock", ["gone", "reused"])
def test_a_lock_held_by_another_program_is_said_and_not_waited_on(tmp_path: Path,
                                                                  pid_in_lock: str) -> None:
    run = _finished_run(tmp_path / "run")
    lines = (run / "events.ndjson").read_text().splitlines()
    (run / "events.ndjson").write_text("\n".join(lines[:1]) + "\n")  # died before its verdict
    # The PID the run wrote: long gone, or since given to an unrelated program.
    other = subprocess.Popen(["sleep", "600"])
    if pid_in_lock == "gone":
        other.kill()
        other.wait()
    (run / "perfdash.lock").write_text(f"{other.pid}\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run / "perfdash.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        done = subprocess.run([PERFDASH, "attach", "--headless", str(run)], capture_output=True,
                              check=False, text=True, timeout=30, cwd=tmp_path,
                              stdin=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        took = time.monotonic() - started
    finally:
        for proc in (holder, other):
            proc.kill()
            proc.wait()
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "perfdash.lock is held by" in done.stderr
    assert "not by a perfdash run" in done.stderr
    assert f"the PID in it, {other.pid}, is " + ("gone" if pid_in_lock == "gone" else "sleep 600") \
        in done.stderr
    assert took < 15


def test_latest_passes_over_a_directory_locked_by_another_program(tmp_path: Path) -> None:
    from perfdash.follow.locate import running_runs

    run = _finished_run(tmp_path / "results" / "20260101T000000Z")
    (run / "perfdash.lock").write_text("1\n")  # init: alive, not perfdash, lock not open
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run / "perfdash.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert running_runs(tmp_path / "results") == []
        # The holder's own PID: a process with the lock open is taken for the run (perfdash
        # embedded in another program).
        (run / "perfdash.lock").write_text(f"{holder.pid}\n")
        assert running_runs(tmp_path / "results") == [run]
    finally:
        holder.kill()
        holder.wait()


def test_an_attacher_with_nothing_recorded_yet_says_what_it_waits_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from perfdash.follow import source
    from perfdash.follow.source import LocalSource

    monkeypatch.setattr(source, "QUIET_NOTE_S", 0.3)
    lock = RunLock(tmp_path)  # this process: a run starting, nothing recorded yet
    try:
        src = LocalSource(tmp_path, poll_s=0.05)
        notes: list[str] = []
        deadline = time.monotonic() + 5
        while not notes and time.monotonic() < deadline:
            batch = src.next_batch(0.2)
            assert not batch.ended
            notes = batch.notes
        src.close()
    finally:
        lock.release()
    assert notes == [f"nothing recorded in {tmp_path} yet: waiting for the run holding its lock "
                     f"(pid {os.getpid()}) to start (q or Ctrl-C detaches)"]
