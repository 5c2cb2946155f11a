"""Following a run's recording from outside its process: catch-up, follow, skipping ahead when
behind, the run's lock, a killed writer noticed within seconds, and a half-written last line never
handed on. The writer is a real process holding a real lock (perfdash.run.liveness)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from perfdash.events import (
    Bus,
    Event,
    PhaseChanged,
    ProblemDetected,
    RunFinished,
    RunStarted,
    SystemSampled,
    TimelineTicked,
    to_record,
)
from perfdash.follow.follower import STOPPED, Follower, FollowOutcome, compact
from perfdash.follow.lines import LineReader
from perfdash.follow.locate import NoRunError, resolve_run
from perfdash.follow.source import LocalSource
from perfdash.run.liveness import RunLock, run_alive

PERFDASH = str(Path(sys.executable).parent / "perfdash")

WRITER = r"""
import json, sys, time
from pathlib import Path
from perfdash.events import (RunStarted, SystemSampled, TimelineTicked, RunFinished, PhaseChanged,
                             to_record)
from perfdash.run.liveness import RunLock

run_dir, mode, backlog = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = RunLock(run_dir)
f = (run_dir / "events.ndjson").open("a")
def put(e):
    f.write(json.dumps(to_record(e)) + "\n")
    f.flush()
def sample(i):
    return SystemSampled(float(i), (), 1.0, 1.0, 0.0, 0.0, 0.0, 0.0)
put(RunStarted(run_dir.name, str(run_dir), "p", "e", 5.0))
for i in range(backlog):
    put(sample(i))
    put(TimelineTicked(float(i), {"cpu_pct": float(i)}))
print("ready", flush=True)
if mode == "finish":
    for i in range(backlog, backlog + 3):
        time.sleep(0.3)
        put(TimelineTicked(float(i), {"cpu_pct": float(i)}))
    put(RunFinished("pass", 0, str(run_dir / "summary.json")))
    put(PhaseChanged("done", "pass"))
    f.close()
    lock.release()
else:  # killed mid-line: the last line is never finished
    f.write('{"type": "ProblemDetected", "at": 1.0, "what": "half a li')
    f.flush()
    time.sleep(600)
"""


def _writer(run_dir: Path, mode: str, backlog: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(run_dir), mode, str(backlog)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _follow(run_dir: Path) -> tuple[Follower, list[Event], threading.Thread, list[FollowOutcome]]:
    bus = Bus()
    seen: list[Event] = []
    bus.listen(seen.append)
    follower = Follower(LocalSource(run_dir, poll_s=0.05), bus, poll_s=0.1)
    outcomes: list[FollowOutcome] = []
    thread = threading.Thread(target=lambda: outcomes.append(follower.run()), daemon=True)
    thread.start()
    return follower, seen, thread, outcomes


def test_a_half_written_last_line_is_never_handed_on(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    reader = LineReader(path)
    assert reader.read() == []  # not there yet
    path.write_text('{"a": 1}\n{"b": ')
    assert reader.read() == ['{"a": 1}']
    assert reader.partial == b'{"b": '
    assert reader.read() == []
    with path.open("a") as f:
        f.write('2}\n{"c"')
    assert reader.read() == ['{"b": 2}']
    assert reader.offset == len('{"a": 1}\n{"b": 2}\n')


def test_compacting_a_backlog_keeps_history_and_the_newest_samples() -> None:
    lines = []
    for i in range(10):
        lines.append(json.dumps(to_record(SystemSampled(float(i), (), 1, 1, 0, 0, 0, 0))))
        lines.append(json.dumps(to_record(TimelineTicked(float(i), {"cpu_pct": 1.0}))))
    lines.append(json.dumps(to_record(PhaseChanged("analysis"))))
    kept, skipped = compact(lines)
    assert skipped == 9
    assert sum('"TimelineTicked"' in line for line in kept) == 10
    samples = [json.loads(line) for line in kept if '"SystemSampled"' in line]
    assert [s["cpu_pct"] for s in samples] == [9.0]
    assert kept[-1] == lines[-1]


def test_the_lock_tells_a_running_run_from_a_finished_or_dead_one(tmp_path: Path) -> None:
    assert run_alive(tmp_path) is None  # no lock file: an older perfdash's directory
    lock = RunLock(tmp_path)
    assert run_alive(tmp_path) is True
    assert (tmp_path / "perfdash.lock").read_text().strip() == str(os.getpid())
    lock.release()
    assert run_alive(tmp_path) is False
    writer = _writer(tmp_path, "hang", 0)
    assert run_alive(tmp_path) is True
    writer.kill()
    writer.wait()
    assert run_alive(tmp_path) is False  # SIGKILL cannot leave the lock held


def test_catches_up_then_follows_to_the_verdict(tmp_path: Path) -> None:
    writer = _writer(tmp_path, "finish", 40)
    follower, seen, thread, outcomes = _follow(tmp_path)
    thread.join(15)
    writer.wait(5)
    assert outcomes, "the follower did not end"
    assert outcomes[0].how == "finished", outcomes
    assert outcomes[0].exit_code == 0
    ticks = [e.t_s for e in seen if isinstance(e, TimelineTicked)]
    assert ticks == [float(i) for i in range(43)]  # the history, then what came after
    assert isinstance(seen[0], RunStarted)
    assert any(isinstance(e, RunFinished) for e in seen)
    assert follower.run_id == tmp_path.name


def test_a_follower_that_falls_behind_skips_to_the_newest_samples(tmp_path: Path) -> None:
    writer = _writer(tmp_path, "finish", 3000)  # ~1 MB already written when it attaches
    follower, seen, thread, outcomes = _follow(tmp_path)
    thread.join(20)
    writer.wait(5)
    assert outcomes[0].how == "finished"
    assert follower.skipped > 1000
    samples = [e for e in seen if isinstance(e, SystemSampled)]
    assert len(samples) < 3000
    assert samples[-1].cpu_pct == 2999.0  # the newest sample survives
    assert len([e for e in seen if isinstance(e, TimelineTicked)]) == 3003  # no second lost


def test_a_killed_run_is_said_within_seconds_and_its_half_line_never_shown(tmp_path: Path
                                                                          ) -> None:
    writer = _writer(tmp_path, "hang", 5)
    follower, seen, thread, outcomes = _follow(tmp_path)
    time.sleep(0.5)
    assert thread.is_alive(), "a live run is followed, not ended"
    killed = time.monotonic()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    thread.join(10)
    took = time.monotonic() - killed
    assert outcomes
    assert outcomes[0].how == "stopped"
    assert took < 3, f"noticed after {took:.1f} s"
    assert outcomes[0].message.startswith(STOPPED)
    problems = [e for e in seen if isinstance(e, ProblemDetected)]
    assert [p.what for p in problems] == [outcomes[0].message.split("; ")[0]]
    assert not any("half a li" in json.dumps(to_record(e)) for e in seen)
    assert follower.published == 11


def test_latest_without_a_running_run_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "20260101T000000Z").mkdir()  # a finished run: no lock held
    with pytest.raises(NoRunError, match="no run is going on"):
        resolve_run("latest", tmp_path)
    proc = subprocess.run([PERFDASH, "attach", "--headless", "--results-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "no run is going on" in proc.stderr
    assert "Traceback" not in proc.stderr


def _long_recording(path: Path, seconds: int, problem_every: int) -> list[str]:
    """A run of `seconds` at one sample of each kind a second (host, remote hosts, k6, database,
    a log batch, the timeline's tick), a problem every `problem_every` seconds; written as the
    recorder writes it (`type` first). Returns the problems' texts."""
    t0 = 1_800_000_000.0
    problems: list[str] = []

    def rec(kind: str, at: float, **fields: object) -> str:
        return json.dumps({"type": kind, "at": at, **fields})

    out = [rec("RunStarted", t0, run_id="long", run_dir=str(path.parent), profile="soak",
               environment="e", planned_seconds=float(seconds)),
           rec("PhaseChanged", t0 + 0.1, phase="preflight", detail=""),
           rec("PreflightChecked", t0 + 0.2, name="k6 runnable", ok=True, detail="pass: k6"),
           rec("PhaseChanged", t0 + 0.3, phase="load", detail="parallel")]
    host = {"name": "api-1", "role": "backend", "up": True, "cpu_pct": 10.0, "mem_pct": 20.0}
    for i in range(seconds):
        at = t0 + 1 + i
        out += [rec("SystemSampled", at, cpu_pct=5.0, cpu_per_core=[5.0], mem_pct=1.0,
                    mem_used_mb=1.0, swap_pct=0.0, load1=0.1, load5=0.1, load15=0.1),
                rec("HostsSampled", at, hosts=[{**host, "cpu_pct": float(i % 100)}]),
                rec("K6Progressed", at, vus=5, vus_max=5, iterations=i, requests=10 * i,
                    req_per_s=10.0, p95_ms=20.0, checks_rate=1.0, failed_rate=0.0,
                    tainted=False, elapsed_s=float(i), planned_s=float(seconds)),
                rec("DatabaseSampled", at, connections_by_state={"idle": 3},
                    max_connections=100, waiting_locks=0),
                rec("LogLinesRead", at, lines=["GET /api/products 200"], errors=0, warnings=0),
                rec("TimelineTicked", at, t_s=float(i), values={"cpu_pct": 5.0})]
        if i % problem_every == problem_every - 1:
            problems.append(f"problem at {i} s")
            out.append(rec("ProblemDetected", at, what=problems[-1], fix="", severity="warning"))
    end = t0 + seconds + 2
    out += [rec("ToolExited", end, tool="k6", returncode=0, elapsed_s=float(seconds)),
            rec("PhaseChanged", end + 0.1, phase="analysis", detail=""),
            rec("RunFinished", end + 0.2, status="pass", exit_code=0, summary_path="s.json"),
            rec("PhaseChanged", end + 0.3, phase="done", detail="pass")]
    path.write_text("\n".join(out) + "\n")
    return problems


def test_headless_catch_up_of_a_long_run_drops_nothing_that_matters(tmp_path: Path) -> None:
    """Four hours recorded at one sample of every kind a second (more than the console's
    10,000-event subscription holds many times over), caught up on while the console is stalled
    (nothing drained until the end, the worst case): its start, every phase, every problem and
    the verdict arrive, and the newest samples; nothing is dropped."""
    from perfdash.collect.hostsample import HostsSampled
    from perfdash.events import REQUESTS, PreflightChecked, ToolExited, ToolProgressed
    from perfdash.follow.follower import HEADLESS_SHOWS

    seconds = 4 * 3600
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    problems = _long_recording(run_dir / "events.ndjson", seconds, 1800)
    bus = Bus()
    sub = bus.subscribe()  # what the headless console subscribes with
    follower = Follower(LocalSource(run_dir, poll_s=0.01), bus, poll_s=0.05, only=HEADLESS_SHOWS)
    started = time.monotonic()
    outcome = follower.run()
    took = time.monotonic() - started
    events = sub.drain()
    assert outcome.how == "finished"
    assert sub.dropped == 0
    assert isinstance(events[0], RunStarted)
    assert [e.phase for e in events if isinstance(e, PhaseChanged)] == [
        "preflight", "load", "analysis", "done"]
    assert [e.what for e in events if isinstance(e, ProblemDetected)] == problems
    assert len(problems) == 8
    assert sum(isinstance(e, PreflightChecked) for e in events) == 1
    assert sum(isinstance(e, ToolExited) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    # recorded as K6Progressed (a recording from before ToolProgressed): read as k6's
    newest_k6 = [e for e in events if isinstance(e, ToolProgressed)][-1]
    assert newest_k6.tool == "k6"
    assert newest_k6.get(REQUESTS) == 10 * (seconds - 1)
    newest_hosts = [e for e in events if isinstance(e, HostsSampled)][-1]
    assert newest_hosts.hosts[0].cpu_pct == float((seconds - 1) % 100)
    assert follower.skipped > seconds  # the old samples were passed over, not queued
    assert len(events) < 2000
    assert took < 20, f"catch-up of {seconds} s took {took:.1f} s"
