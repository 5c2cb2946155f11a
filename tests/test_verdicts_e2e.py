"""A backend that answers and rejects is a measured failure: real Artillery against the demo backend
with the wrong API token, through the `perfdash` entry point. Every Socket.IO handshake is refused
(`errors.Error: unauthorized`), the backend logs each rejection, and the run fails (exit 1) naming
both, instead of claiming that nothing answered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import DemoService
from .test_faults import run_dir_of, start

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCENARIO = """\
config:
  target: "http://127.0.0.1:9"
  phases:
    - duration: 2
      arrivalRate: 5
  socketio:
    auth:
      token: "{{ $env.PERF_API_TOKEN }}"
scenarios:
  - name: watcher
    engine: socketio
    flow:
      - emit:
          channel: "echo"
          data: "hello"
"""

PROFILES = """\
[profiles.rejected]
description = "Socket.IO only, with a token the backend does not know"
[profiles.rejected.artillery]
script = "%(scenario)s"
phases = [{ duration = 2, arrivalRate = 5 }]

[environments.local]
kind = "external"
app_log = "%(app_log)s"
"""


def test_every_handshake_rejected_fails_the_run_naming_the_errors(
        demo_service: DemoService, tmp_path: Path) -> None:
    scenario = tmp_path / "rejected.yml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    config = tmp_path / "profiles.toml"
    config.write_text(PROFILES % {"scenario": scenario, "app_log": demo_service.log_file},
                      encoding="utf-8")
    results = tmp_path / "results"
    env = {"PERF_BASE_URL": demo_service.base_url,
           "PERF_DATABASE_URL": demo_service.database_url.reveal(),
           "PERF_API_TOKEN": "not-the-token-the-backend-knows"}
    code, out = start(["run", "--profile", "rejected", "--env", "local", "--config", str(config)],
                      results, env).finish(timeout=180)
    run_dir = run_dir_of(results)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in summary["checks"]}
    assert code == 1, out
    assert summary["status"] == "fail"
    requests = checks["artillery.requests"]
    assert requests["status"] == "fail", requests
    assert "errors.Error: unauthorized ×10" in requests["detail"]
    assert "socket handshake rejected" in requests["detail"]  # the backend's own line, quoted
    assert checks["artillery.errors"]["value"] == 10
    assert checks["health.polls"]["status"] == "pass", checks["health.polls"]
    markdown = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "errors.Error: unauthorized ×10" in markdown
    assert "is the backend answering at all" not in markdown
