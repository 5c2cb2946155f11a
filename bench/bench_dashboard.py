"""Hand-run benchmark of the Textual dashboard: CPU of the app process, in a real terminal, while a
recorded run is replayed into it in a loop; then the same with a 20,000 lines/s app-log flood.
Not part of the test suite: `.venv/bin/python bench/bench_dashboard.py`.

The app runs in a detached tmux session (160×48 by default), fed by a replayer thread inside the
same process, so the measured CPU is the dashboard's plus a publisher that mostly sleeps. CPU is
measured with psutil over windows (60 s, median of 3 by default). First paint is the time from
starting the process to the header appearing in the tmux pane.
Targets: <= 1.5% of one core with six live panes, <= 10% under the flood, first paint <= 1 s.

`--scenario neighbours` runs the dashboard (six panes and the timeline chart, fed one
`TimelineTicked` a second), htop and glances side by side, each in its own tmux session of the same
size, measured over the same windows, and reports the dashboard's CPU as a ratio to each (medians
of the per-window ratios). Targets: <= 2x htop and <= 0.5x glances. A fourth neighbour,
`textual_floor.py`, is Textual alone redrawing six text panes once a second: the floor any
Textual dashboard stands on (`textual`: with a layout pass, `textual-lean`: without, and
`textual-idle`: the same screen never redrawn). glances comes from `--glances`
(pip install glances into a throwaway venv) and runs with `-t 1 --disable-check-update
--disable-plugin ports`, so it stays on this machine.

`--refresh SECONDS` is the dashboard's repaint interval (`perfdash run --refresh`); for the
panes, flood and neighbours scenarios, the first of its values. `--scenario refresh --refresh
1,2,5` runs one dashboard per interval beside `textual_floor.py` (and its idle form), all at the
same size over the same windows, and reports each one's median CPU and the median of its
per-window ratios to the floor: what a longer interval saves a constrained generator host.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.events import (  # noqa: E402 - the checkout, not an installed copy
    Bus,
    DatabaseSampled,
    Event,
    LogLinesRead,
    PhaseChanged,
    SystemSampled,
    TimelineTicked,
    ToolExited,
    ToolProgressed,
)
from perfdash.ui.replay import load_events  # noqa: E402
from tests.ui.live_ticks import with_ticks  # noqa: E402 - the recorder's TimelineTicked, until it lands

DEFAULT_EVENTS = ROOT / "tests" / "ui" / "data" / "fail-run" / "events.ndjson"
SAMPLES = (SystemSampled, ToolProgressed, DatabaseSampled, LogLinesRead, TimelineTicked)
FLOOD_RATE = 20_000
FLOOD_BATCH_S = 0.25
FLOOD_KEEP = 200  # the tailer publishes only the newest lines of a batch and counts the rest
LEVELS = ("INFO ",) * 17 + ("WARN ", "ERROR", "INFO ")
HEADER_MARK = "perfdash ▸"


# ---------------------------------------------------------------------- the app process
class LoopFeed:
    """Publishes a recorded run up to the end of its load phase, then its load-phase samples
    again and again with their recorded spacing, so the live screen never reaches the result."""

    def __init__(self, events: list[Event], bus: Bus, flood: bool) -> None:
        events = with_ticks(events)
        end = next((i for i, e in enumerate(events) if isinstance(e, ToolExited)), len(events))
        self.first = events[:end]
        start = next((i for i, e in enumerate(self.first)
                      if isinstance(e, PhaseChanged) and e.phase == "load"), 0)
        self.loop = [e for e in self.first[start:] if isinstance(e, SAMPLES)]
        self.bus = bus
        self.flood = flood
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()

    def _play(self, events: list[Event]) -> None:
        if not events:
            return
        t0, start = events[0].at, time.monotonic()
        for event in events:
            wait = (event.at - t0) - (time.monotonic() - start)
            if wait > 0 and self.stopped.wait(wait):
                return
            self.bus.publish(event)

    def _flood(self) -> None:
        per_batch = int(FLOOD_RATE * FLOOD_BATCH_S)
        counter = itertools.count()
        next_at = time.monotonic()
        while not self.stopped.is_set():
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            first = next(counter) * per_batch
            lines = tuple(
                f"{stamp}.{int(now % 1 * 1000):03d}Z {LEVELS[i % 20]} GET /api/products/{i % 5000} "
                f"200 {(i % 97) / 10:.1f}ms" for i in range(first + per_batch - FLOOD_KEEP,
                                                            first + per_batch))
            errors = sum(1 for ln in lines if "ERROR" in ln[:40])
            warnings = sum(1 for ln in lines if "WARN" in ln[:40])
            self.bus.publish(LogLinesRead(lines, errors, warnings, dropped=per_batch - FLOOD_KEEP))
            next_at += FLOOD_BATCH_S
            self.stopped.wait(max(0.0, next_at - time.monotonic()))

    def run(self) -> None:
        if self.flood:
            threading.Thread(target=self._flood, name="flood", daemon=True).start()
        self._play(self.first)
        while not self.stopped.is_set():
            self._play(self._renumbered())

    def _renumbered(self) -> list[Event]:
        """The loop again, its ticks moved on so the timeline keeps growing like a longer run."""
        ticks = [e for e in self.loop if isinstance(e, TimelineTicked)]
        if not ticks:
            return self.loop
        self._offset = getattr(self, "_offset", ticks[-1].t_s + 1 - ticks[0].t_s)
        shift = self._offset
        self._offset += ticks[-1].t_s + 1 - ticks[0].t_s
        return [dataclasses.replace(e, t_s=e.t_s + shift) if isinstance(e, TimelineTicked) else e
                for e in self.loop]


def child(events_file: Path, flood: bool, pid_file: Path, refresh_s: float) -> None:
    from perfdash.ui.app import make_app

    pid_file.write_text(str(os.getpid()))
    bus = Bus()
    feed = LoopFeed(load_events(events_file), bus, flood)
    app = make_app(bus=bus, run=feed.run, stop=feed.stop, refresh_s=refresh_s)
    app.run()


# ---------------------------------------------------------------------- the measuring side
def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def measure(name: str, flood: bool, args: argparse.Namespace) -> dict[str, float]:
    width, height = args.size
    session = f"perfdash-bench-{os.getpid()}-{name}"
    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp) / "pid"
        command = " ".join(shlex.quote(part) for part in (
            sys.executable, str(Path(__file__).resolve()), "--child", "--events", str(args.events),
            "--pid-file", str(pid_file), "--refresh", str(args.refresh[0]),
            *(["--flood"] if flood else [])))
        started = time.monotonic()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width),
                        "-y", str(height), f"exec {command}"], check=True)
        try:
            first_paint = float("nan")
            while time.monotonic() - started < 15:
                if HEADER_MARK in _tmux("capture-pane", "-p", "-t", session):
                    first_paint = time.monotonic() - started
                    break
                time.sleep(0.01)
            while not pid_file.exists() or not pid_file.read_text():
                time.sleep(0.05)
            proc = psutil.Process(int(pid_file.read_text()))
            time.sleep(args.warmup)
            windows = []
            for _ in range(args.windows):
                before, t0 = proc.cpu_times(), time.monotonic()
                time.sleep(args.seconds)
                after, t1 = proc.cpu_times(), time.monotonic()
                busy = (after.user - before.user) + (after.system - before.system)
                windows.append(100 * busy / (t1 - t0))
                print(f"  {name}: window {len(windows)}: {windows[-1]:.2f}% of a core", flush=True)
            rss_mb = proc.memory_info().rss / 2**20
            screen = _tmux("capture-pane", "-p", "-t", session)
        finally:
            _tmux("kill-session", "-t", session)
    if args.show_screen:
        print(screen)
    return {"cpu_median": statistics.median(windows), "first_paint_s": first_paint,
            "rss_mb": rss_mb}


def _start(session: str, command: str, size: tuple[int, int]) -> None:
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]),
                    "-y", str(size[1]), f"exec {command}"], check=True)


def neighbours(args: argparse.Namespace) -> dict[str, float]:
    """perfdash, htop and glances at the same size, measured over the same windows."""
    tag = f"perfdash-bench-{os.getpid()}"
    peers = ("htop", "glances", "textual", "textual-lean", "textual-idle")
    sessions = {n: f"{tag}-{n}" for n in ("perfdash", *peers)}
    with tempfile.TemporaryDirectory() as tmp:
        pid_file = Path(tmp) / "pid"
        commands = {
            "perfdash": " ".join(shlex.quote(p) for p in (
                sys.executable, str(Path(__file__).resolve()), "--child", "--events",
                str(args.events), "--pid-file", str(pid_file), "--refresh", str(args.refresh[0]))),
            "htop": "htop",
            "glances": f"{shlex.quote(str(args.glances))} -t 1 --disable-check-update "
                       "--disable-plugin ports",
        }
        floor = shlex.quote(str(Path(__file__).with_name("textual_floor.py")))
        for name, flag in (("textual", ""), ("textual-lean", " --lean"), ("textual-idle", " --idle")):
            commands[name] = f"{shlex.quote(sys.executable)} {floor}{flag}"
        started = time.monotonic()
        first_paint = float("nan")
        try:
            _start(sessions["perfdash"], commands["perfdash"], args.size)
            while time.monotonic() - started < 15:
                if HEADER_MARK in _tmux("capture-pane", "-p", "-t", sessions["perfdash"]):
                    first_paint = time.monotonic() - started
                    break
                time.sleep(0.01)
            for name in peers:  # after the first paint, which they would slow
                _start(sessions[name], commands[name], args.size)
            while not pid_file.exists() or not pid_file.read_text():
                time.sleep(0.05)
            procs = {"perfdash": psutil.Process(int(pid_file.read_text()))}
            for name in peers:
                pane_pid = _tmux("display-message", "-p", "-t", sessions[name], "#{pane_pid}")
                procs[name] = psutil.Process(int(pane_pid.strip()))
            time.sleep(args.warmup)
            cpu: dict[str, list[float]] = {name: [] for name in procs}
            for w in range(args.windows):
                before = {n: p.cpu_times() for n, p in procs.items()}
                t0 = time.monotonic()
                time.sleep(args.seconds)
                after = {n: p.cpu_times() for n, p in procs.items()}
                span = time.monotonic() - t0
                for n in procs:
                    busy = (after[n].user - before[n].user) + (after[n].system - before[n].system)
                    cpu[n].append(100 * busy / span)
                print(f"  window {w + 1}: " + ", ".join(f"{n} {cpu[n][-1]:.2f}%" for n in cpu),
                      flush=True)
            screen = _tmux("capture-pane", "-p", "-t", sessions["perfdash"])
        finally:
            for session in sessions.values():
                _tmux("kill-session", "-t", session)
    if args.show_screen:
        print(screen)
    ratio = {n: statistics.median(p / o for p, o in zip(cpu["perfdash"], cpu[n], strict=True)
                                  if o > 0) for n in peers}
    return {**{f"{n}_median": statistics.median(v) for n, v in cpu.items()},
            **{f"ratio_{n}": r for n, r in ratio.items()},
            "first_paint_s": first_paint}


def refresh_costs(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """One dashboard per `--refresh` value and the bare Textual floor, measured together."""
    tag = f"perfdash-bench-{os.getpid()}"
    floor = shlex.quote(str(Path(__file__).with_name("textual_floor.py")))
    names = [f"refresh {r:g} s" for r in args.refresh]
    with tempfile.TemporaryDirectory() as tmp:
        pid_files = {n: Path(tmp) / f"pid{i}" for i, n in enumerate(names)}
        commands = {n: " ".join(shlex.quote(p) for p in (
            sys.executable, str(Path(__file__).resolve()), "--child", "--events", str(args.events),
            "--pid-file", str(pid_files[n]), "--refresh", str(r)))
            for n, r in zip(names, args.refresh, strict=True)}
        commands["textual"] = f"{shlex.quote(sys.executable)} {floor}"
        commands["textual-idle"] = f"{shlex.quote(sys.executable)} {floor} --idle"
        sessions = {n: f"{tag}-{i}" for i, n in enumerate(commands)}
        try:
            for name, command in commands.items():
                _start(sessions[name], command, args.size)
            procs: dict[str, psutil.Process] = {}
            for name in names:
                while not pid_files[name].exists() or not pid_files[name].read_text():
                    time.sleep(0.05)
                procs[name] = psutil.Process(int(pid_files[name].read_text()))
            for name in ("textual", "textual-idle"):
                pane_pid = _tmux("display-message", "-p", "-t", sessions[name], "#{pane_pid}")
                procs[name] = psutil.Process(int(pane_pid.strip()))
            time.sleep(args.warmup)
            cpu: dict[str, list[float]] = {name: [] for name in procs}
            for w in range(args.windows):
                before = {n: p.cpu_times() for n, p in procs.items()}
                t0 = time.monotonic()
                time.sleep(args.seconds)
                after = {n: p.cpu_times() for n, p in procs.items()}
                span = time.monotonic() - t0
                for n in procs:
                    busy = (after[n].user - before[n].user) + (after[n].system - before[n].system)
                    cpu[n].append(100 * busy / span)
                print(f"  window {w + 1}: " + ", ".join(f"{n} {cpu[n][-1]:.2f}%" for n in cpu),
                      flush=True)
            if args.show_screen:
                for name in names:
                    print(_tmux("capture-pane", "-p", "-t", sessions[name]))
        finally:
            for session in sessions.values():
                _tmux("kill-session", "-t", session)
    return {n: {"cpu_median": statistics.median(cpu[n]),
                "ratio_textual": statistics.median(
                    p / o for p, o in zip(cpu[n], cpu["textual"], strict=True) if o > 0)
                if any(o > 0 for o in cpu["textual"]) else float("nan")}
            for n in procs}


def _refresh_list(text: str) -> list[float]:
    values = [float(part) for part in text.split(",") if part.strip()]
    if not values or not all(0 < v <= 60 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: pass seconds above 0 and at most 60, e.g. 1,2,5")
    return values


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=DEFAULT_EVENTS,
                        help="a recorded events.ndjson (default: the failing demo run fixture)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of one CPU window")
    parser.add_argument("--windows", type=int, default=3, help="windows per scenario (median)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--size", type=_size, default=(160, 48), help="terminal size, WxH")
    parser.add_argument("--scenario", choices=("panes", "flood", "neighbours", "refresh", "all"),
                        default="all")
    parser.add_argument("--glances", type=Path, default=Path("/tmp/glances-venv/bin/glances"),
                        help="the glances executable (pip install glances into a throwaway venv)")
    parser.add_argument("--show-screen", action="store_true",
                        help="print the tmux pane at the end of each scenario")
    parser.add_argument("--refresh", type=_refresh_list, default=[1.0], metavar="SECONDS[,...]",
                        help="the dashboard's repaint interval(s) (default 1); several, comma "
                             "separated, with --scenario refresh")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pid-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.events, args.flood, args.pid_file, args.refresh[0])
        return 0
    if shutil.which("tmux") is None:
        print("tmux is needed: apt-get install tmux", file=sys.stderr)
        return 2
    if args.scenario == "neighbours" and (shutil.which("htop") is None
                                          or not args.glances.exists()):
        print("htop and glances are needed: apt-get install htop; python3 -m venv "
              "/tmp/glances-venv && /tmp/glances-venv/bin/pip install glances", file=sys.stderr)
        return 2
    if args.scenario == "refresh":
        print(f"terminal {args.size[0]}x{args.size[1]}, {args.windows} windows of "
              f"{args.seconds:.0f} s, a dashboard per repaint interval beside bare Textual")
        for name, r in refresh_costs(args).items():
            print(f"{name:14} CPU median {r['cpu_median']:.2f}% of a core, "
                  f"/ bare Textual {r['ratio_textual']:.2f}x (median of per-window ratios)")
        return 0
    if args.scenario == "neighbours":
        print(f"terminal {args.size[0]}x{args.size[1]}, {args.windows} windows of "
              f"{args.seconds:.0f} s, perfdash beside htop and glances")
        r = neighbours(args)
        print(f"perfdash {r['perfdash_median']:.2f}%, htop {r['htop_median']:.2f}%, glances "
              f"{r['glances_median']:.2f}%, bare Textual {r['textual_median']:.2f}% (without "
              f"layout passes {r['textual-lean_median']:.2f}%, idle {r['textual-idle_median']:.2f}%)"
              f" of a core (medians); perfdash/htop {r['ratio_htop']:.2f}x (target <= 2), "
              "perfdash/glances "
              f"{r['ratio_glances']:.2f}x (target <= 0.5), perfdash/bare Textual "
              f"{r['ratio_textual']:.2f}x, perfdash/lean Textual {r['ratio_textual-lean']:.2f}x, "
              f"first paint {r['first_paint_s']:.2f} s "
              "(target <= 1 s)")
        return 0
    scenarios = {"panes": False, "flood": True}
    chosen = scenarios if args.scenario == "all" else {args.scenario: scenarios[args.scenario]}
    print(f"terminal {args.size[0]}x{args.size[1]}, {args.windows} windows of {args.seconds:.0f} s,"
          f" replaying {args.events}")
    results = {name: measure(name, flood, args) for name, flood in chosen.items()}
    for name, r in results.items():
        target = 10.0 if name == "flood" else 1.5
        print(f"{name:6} CPU median {r['cpu_median']:.2f}% of a core (target <= {target}%), "
              f"first paint {r['first_paint_s']:.2f} s (target <= 1 s), RSS {r['rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
