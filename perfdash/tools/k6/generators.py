"""k6 across N generators: N `k6 run` processes, each with its own execution segment, writing to
Prometheus through k6's built-in `experimental-prometheus-rw` output with trends as native
histograms; their results merged there (perfdash.tools.k6.merged) into `k6-<profile>.json`.

Behind the load-tool seam the N processes are one child: the orchestrator starts
`python -m perfdash.tools.k6.launcher <spec>`, which starts the generators, waits for them,
merges, judges the profile's and the script's thresholds on the merged data and exits like k6
(0 passed, 99 thresholds crossed, the first generator's error code otherwise), so everything
downstream (exit codes, checks, result view, compare) treats it as one k6 run. Each generator
runs with `--no-thresholds` (none of them sees the whole load) and is tagged with the run id
(`testid`) and its name (`generator`). Generators are local processes today; the spec is data,
so a launcher that starts them over SSH would read the same one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from perfdash.artifacts import write_json_atomic
from perfdash.net import free_port
from perfdash.proc.redacted_copy import RedactedCopy
from perfdash.proc.supervisor import DRAIN_S, die_with_parent
from perfdash.secret import Redactor, Secret
from perfdash.settings import Profile
from perfdash.thresholds import Threshold
from perfdash.tools.k6 import command
from perfdash.tools.k6.genspec import (
    SECRETS_ENV,
    SPEC_NAME,
    Spec,
    generator_name,
    rw_env,
    summary_path,
)

MERGE_FAILED = 120  # the generators ran but their results could not be merged


def segments(n: int) -> tuple[list[str], str]:
    """N equal execution segments covering the whole test, and the sequence they belong to."""
    cuts = [Fraction(i, n) for i in range(n + 1)]

    def text(f: Fraction) -> str:
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"

    return ([f"{text(a)}:{text(b)}" for a, b in itertools.pairwise(cuts)],
            ",".join(text(c) for c in cuts))


def tag_args(testid: str, generator: str) -> list[str]:
    return ["--tag", f"testid={testid}", "--tag", f"generator={generator}"]


def generator_argv(k6: Path, profile: Profile, run_dir: Path, base_url: str | None, index: int,
                   n: int, testid: str, extra: list[str] | None = None) -> list[str]:
    """One generator's `k6 run`: the single-process command minus its summary and API port, plus
    its segment, its tags, `--no-thresholds` and the Prometheus output."""
    assert profile.k6_script is not None
    segs, sequence = segments(n)
    return [
        str(k6), "run", "--no-usage-report", "--no-color", "--quiet", "--no-thresholds",
        "--config", str(command.config_path(run_dir)),
        *command.stage_args(profile),
        *command.env_args(profile, base_url),
        "--execution-segment", segs[index], "--execution-segment-sequence", sequence,
        *tag_args(testid, generator_name(index)),
        "-o", "experimental-prometheus-rw",
        "--summary-export", str(summary_path(run_dir, profile.name, index)),
        "--summary-trend-stats", command.TREND_STATS,
        "--address", f"127.0.0.1:{free_port()}",
        *(extra or []),
        str(profile.k6_script),
    ]


def write_spec(run_dir: Path, profile: Profile, argvs: list[list[str]], cwd: Path, testid: str,
               prometheus_url: str, thresholds: list[Threshold]) -> Path:
    path = run_dir / SPEC_NAME
    Spec(profile.name, str(run_dir), str(cwd), testid, prometheus_url, argvs,
         {"K6_NO_USAGE_REPORT": "true", **rw_env(prometheus_url)},
         [t.to_json() for t in thresholds]).write(path)
    return path


def generator_artifacts(run_dir: Path, profile: str) -> dict[str, Path]:
    """The files a split run leaves besides the merged `k6-<profile>.json`, by role for
    summary.json's artifact index: the launch spec, then each generator's own summary export and
    output. Only files that exist: a single-process run (or a generator that never started) adds
    nothing, and an index entry always names something a reader can open."""
    found: dict[str, Path] = {}
    spec = run_dir / SPEC_NAME
    if spec.is_file():
        found["k6_generators"] = spec
    for index in itertools.count():
        name = generator_name(index)
        files = {f"k6_summary.{name}": summary_path(run_dir, profile, index),
                 f"k6_stdout.{name}": run_dir / f"k6.{name}.stdout.log",
                 f"k6_stderr.{name}": run_dir / f"k6.{name}.stderr.log"}
        present = {role: path for role, path in files.items() if path.is_file()}
        if not present:
            break
        found |= present
    return found


class _Stop:
    """A stop signal to the launcher's process group (how perfdash stops a tool) reaches every
    generator too: the launcher only notes it and waits for them to end, so each writes its
    summary (k6 stops at once, without one, on a second signal, so the launcher never repeats it).

    One signal comes to the launcher alone: SIGTERM from the parent-death setting when perfdash
    itself dies (SIGKILL, a crash). Nothing reaches the group then, so the launcher passes a
    SIGINT on to the generators; they end as on Ctrl-C instead of running the whole test as
    orphans."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.parent = os.getppid()
        self.procs: list[subprocess.Popen[bytes]] = []
        self._forwarded = False
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._note)

    def _note(self, signum: int, _frame: object) -> None:
        self.signal = signum
        if os.getppid() != self.parent and not self._forwarded:
            self._forwarded = True
            for proc in self.procs:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGINT)


def launch(spec: Spec) -> int:
    """Starts every generator, waits for all, merges; returns the exit code for the run."""
    from perfdash.tools.k6.merged import MergeError, merge_run

    stop = _Stop()
    run_dir = Path(spec.run_dir)
    # Each generator's output passes through the run's redactor on its way to its log files, as a
    # single k6's does in the supervisor.
    redactor = Redactor([Secret(v) for v in json.loads(os.environ.get(SECRETS_ENV) or "[]")])
    env = {k: v for k, v in {**os.environ, **spec.env}.items() if k != SECRETS_ENV}
    procs = stop.procs
    copies: list[RedactedCopy] = []
    started = time.time()
    for i, argv in enumerate(spec.argvs):
        if stop.signal is not None:
            break  # asked to stop while starting them: the rest would run the whole test
        name = generator_name(i)
        proc = subprocess.Popen(argv, cwd=spec.cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent())  # noqa: PLW1509 (one thread)
        procs.append(proc)
        assert proc.stdout is not None
        assert proc.stderr is not None
        copies += [RedactedCopy(proc.stdout, (run_dir / f"k6.{name}.stdout.log").open("ab"), redactor),
                   RedactedCopy(proc.stderr, (run_dir / f"k6.{name}.stderr.log").open("ab"), redactor)]
        for copy in copies[-2:]:
            copy.start()
    codes = [p.wait() for p in procs]
    for copy in copies:
        copy.join(DRAIN_S)
    for i, code in enumerate(codes):
        print(f"perfdash: k6 {generator_name(i)} exited with {code}", file=sys.stderr, flush=True)
    if not procs:
        return 105  # stopped before the first generator started: k6's "aborted by a signal"
    try:
        # Stopped early: perfdash escalates to SIGKILL within seconds, so Prometheus gets a short
        # timeout and a merge that cannot finish in time is given up rather than killed halfway.
        merged = merge_run(spec, codes, started, time.time(),
                           timeout_s=1.0 if stop.signal is not None else 5.0)
    except MergeError as exc:
        print(f"perfdash: error: the generators' results could not be merged: {exc}",
              file=sys.stderr, flush=True)
        return next((c for c in codes if c != 0), MERGE_FAILED)
    write_json_atomic(run_dir / f"k6-{spec.profile}.json", merged)
    failed = next((c for c in codes if c != 0), 0)
    if failed:
        return failed
    if stop.signal is not None:
        return 105
    crossed = [f"{m}: {e}" for m, data in merged["metrics"].items()
               for e, c in (data.get("thresholds") or {}).items() if c]
    if crossed:
        print(f'level=error msg="thresholds on metrics \'{", ".join(crossed)}\' have been crossed '
              'on the merged results of all generators"', file=sys.stderr, flush=True)
        return 99
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m perfdash.tools.k6.launcher SPEC.json", file=sys.stderr)
        return 2
    return launch(Spec.read(Path(args[0])))
