"""The receiver's per-second p95 against exact percentiles of the same k6 run's raw samples, and a
whole demo run with `latency_source = "remote-write"`.

One real k6 run writes every sample (`--out json=`) and pushes native histograms to the receiver
(`-o experimental-prometheus-rw`) at once. Each push's interval holds a known number of requests;
the raw durations, in k6's order, are cut into runs of those sizes and their exact p95 (k6's own
definition: linear between closest ranks) is set against the receiver's. The target answers after
a lognormal sleep, so a second's durations spread over many buckets as a real backend's do.
"""

from __future__ import annotations

import http.server
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfdash.artifacts.timeline import read_timeline
from perfdash.events import LatencySampled
from perfdash.tools.k6.locate import find_k6
from perfdash.tools.k6.nativehist import relative_width
from perfdash.tools.k6.remote_write import RemoteWriteReceiver, output_args, remote_write_env

SCHEMA = 3  # what k6 1.1 sends; the test fails if a push says otherwise


class _Target(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait for a delayed ACK: 40 ms each
    rng = random.Random(26)

    def do_GET(self) -> None:
        time.sleep(min(0.2, self.rng.lognormvariate(math.log(0.004), 0.7)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _exact(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _raw_durations(path: Path) -> list[float]:
    """Every http_req_duration point of k6's JSON output, in the order k6 wrote them."""
    out: list[float] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if '"http_req_duration"' in line and '"Point"' in line:
                out.append(float(json.loads(line)["data"]["value"]))
    return out


@pytest.mark.slow
def test_per_second_p95_from_remote_write_matches_raw_samples(tmp_path: Path, target: int) -> None:
    k6 = find_k6().path
    assert k6 is not None, "k6 is needed for this test"
    script = tmp_path / "load.js"
    script.write_text("import http from 'k6/http';\n"
                      f"export default function () {{ http.get('http://127.0.0.1:{target}/'); }}\n")
    receiver = RemoteWriteReceiver(None, keep=True)
    receiver.start()
    raw = tmp_path / "samples.json"
    try:
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true", **remote_write_env(receiver.port)}
        done = subprocess.run([str(k6), "run", "--no-usage-report", "--quiet", "--vus", "6",
                               "--duration", "15s", *output_args(), "--out", f"json={raw}",
                               str(script)], env=env, capture_output=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    finally:
        receiver.stop()
    kept: list[LatencySampled] = receiver.kept or []
    assert receiver.rejected == 0
    assert len(kept) >= 14
    durations = _raw_durations(raw)
    counts = receiver.interval_counts
    assert sum(counts) == len(durations), "the pushes account for every raw sample"
    assert receiver.schemas == {SCHEMA}

    errors: list[float] = []
    start = 0
    for sample, n in zip(kept, counts, strict=True):
        chunk = durations[start:start + n]
        start += n
        if n < 200 or sample.p95_ms is None:
            continue  # the last push after k6's final flush holds a handful
        errors.append(abs(sample.p95_ms / _exact(chunk, 0.95) - 1))
    assert len(errors) >= 12
    report = (f"per-second p95 error against raw samples over {len(errors)} seconds: median "
              f"{100 * statistics.median(errors):.2f}%, max {100 * max(errors):.2f}%, within 2% "
              f"in {sum(e <= 0.02 for e in errors)}")
    print(report)
    # The bound a schema-3 bucket sets; whether it meets 2% is what the report above says.
    assert max(errors) < relative_width(SCHEMA), report


_PROFILE = """
[profiles.tiny]
description = "k6 alone for 8 s, latency from remote-write"
mode = "parallel"

[profiles.tiny.k6]
script = "k6/demo-api.js"
stages = [{ duration = "8s", target = 2 }]
latency_source = "remote-write"
"""


@pytest.mark.e2e
def test_demo_run_with_remote_write_gets_per_second_percentiles(tmp_path: Path) -> None:
    """The whole path a user takes: the profile key, k6 launched with the output, the receiver
    beside the poller, the timeline's per-second p95 and no web dashboard."""
    root = Path(__file__).resolve().parent.parent
    config = tmp_path / "profiles.toml"
    config.write_text((root / "profiles.toml").read_text() + _PROFILE)
    results = tmp_path / "results"
    # `-m` from the checkout, so this checkout's perfdash runs, whichever one the venv installed
    proc = subprocess.run([sys.executable, "-m", "perfdash", "demo", "--headless", "--profile",
                           "tiny", "--config", str(config), "--project", str(root),
                           "--results-dir", str(results)], cwd=root, capture_output=True,
                          text=True, timeout=180, check=False)
    runs = sorted(p for p in results.iterdir() if p.is_dir())
    assert runs, proc.stderr[-2000:]
    run_dir = runs[-1]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    timeline, problem = read_timeline(run_dir)
    assert timeline is not None, problem
    p95 = [v for v in timeline.series["k6_p95_ms"] if v is not None]
    means = [v for v in timeline.series["k6_avg_ms"] if v is not None]
    assert len(p95) >= 5
    assert len(means) >= 5
    duration = json.loads((run_dir / "k6-tiny.json").read_text())["metrics"]["http_req_duration"]
    assert all(duration["min"] <= m <= duration["max"] for m in means)
    assert all(0 < v <= duration["max"] * 1.1 for v in p95)  # within one bucket of k6's own max
    assert not (run_dir / "k6-dashboard.html").exists()
    stderr = (run_dir / "k6.stderr.log").read_text(errors="replace")
    assert "remote" not in stderr.lower(), stderr[-2000:]  # k6 logs every failed push
