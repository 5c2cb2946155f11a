"""The split form with the real Artillery: `perfdash run` on a profile that names a config file and
one scenario file runs `artillery run --config common-config.yml scenarios/dino.yml` against a tiny
backend on 127.0.0.1, with the config file's phases and ensure and only that file's scenario."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from perfdash.tools.artillery.locate import find_artillery

from .conftest import ROOT

pytestmark = pytest.mark.slow

# this checkout's perfdash, whichever one the interpreter has installed
PERFDASH = [sys.executable, "-m", "perfdash"]
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

PROFILES = """
[profiles.zoo]
description = "one scenario of a suite split like Artillery's multiple-scenario-specs"
[profiles.zoo.artillery]
config = "artillery/common-config.yml"
script = "artillery/scenarios/dino.yml"
[profiles.zoo.thresholds.artillery]
"http.response_time" = ["p95<2000"]

[environments.local]
kind = "external"
base_url = "%(base_url)s"
artillery = "%(artillery)s"
"""


class _Zoo(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and counts the paths."""

    seen: ClassVar[Counter[str]] = Counter()

    def do_GET(self) -> None:
        type(self).seen[self.path] += 1
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[str]:
    _Zoo.seen = Counter()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Zoo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _project(tmp_path: Path, backend: str, *, split: bool = True) -> tuple[Path, dict[str, str]]:
    """The split example as a project of its own, and the environment perfdash runs in."""
    artillery = find_artillery(None, ROOT)  # where perfdash itself finds it for this checkout
    if artillery.path is None:
        pytest.fail(f"{artillery.problem}; {artillery.fix}")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "data" / "artillery-split", project / "artillery")
    text = PROFILES % {"base_url": backend, "artillery": artillery.path}
    if not split:
        text = text.replace('config = "artillery/common-config.yml"\n', "")
    (project / "profiles.toml").write_text(text)
    env = {k: v for k, v in os.environ.items()
           if k not in _PROXY_VARS and not k.startswith("PERF_")}
    env.update(NO_PROXY="127.0.0.1,localhost", ARTILLERY_DISABLE_TELEMETRY="true",
               PYTHONPATH=str(ROOT))
    return project, env


@pytest.mark.timeout(120)
def test_a_split_artillery_suite_runs_with_its_config_file(backend: str, tmp_path: Path) -> None:
    project, env = _project(tmp_path, backend)
    results = tmp_path / "results"
    out = subprocess.run([*PERFDASH, "run", "--headless", "--profile", "zoo", "--env", "local",
                          "--results-dir", str(results)], cwd=project, env=env,
                         capture_output=True, text=True, timeout=110, check=False)
    text = out.stdout + out.stderr
    assert "[ok  ] Artillery script accepted: about 4 s of load" in text, text
    assert "artillery exited with code 0" in text, text
    # only the named scenario file ran, at the config file's rate: 4 s x 3 arrivals/s
    assert _Zoo.seen["/dino"] == 12, _Zoo.seen
    assert _Zoo.seen["/armadillo"] == 0
    [run_dir] = list(results.iterdir())
    log = (run_dir / "perfdash.log").read_text()
    assert (f"--config {project / 'artillery/common-config.yml'} "
            f"{project / 'artillery/scenarios/dino.yml'}") in log
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["configuration"]["profile"]["artillery_config"] == \
        str(project / "artillery/common-config.yml")
    checks = {c["id"]: c for c in summary["checks"]}
    assert checks["artillery.exit"]["status"] == "pass"
    ensure = [c for c in summary["checks"] if c["id"].startswith("artillery.ensure.")]
    assert [c["threshold"] for c in ensure] == ["http.response_time.p95 < 2000", "maxErrorRate < 1"]
    assert all(c["status"] == "pass" for c in ensure)
    assert {c["source"] for c in ensure} == {"artillery/common-config.yml (config.ensure)"}
    # no database is configured: the database checks are "not measured", so the run is incomplete
    assert out.returncode == 3, text


@pytest.mark.timeout(60)
def test_a_scenario_file_named_alone_stops_in_preflight(backend: str, tmp_path: Path) -> None:
    project, env = _project(tmp_path, backend, split=False)
    out = subprocess.run([*PERFDASH, "run", "--headless", "--profile", "zoo", "--env", "local",
                          "--results-dir", str(tmp_path / "results")], cwd=project, env=env,
                         capture_output=True, text=True, timeout=50, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 3, text
    assert ("[FAIL] Artillery script accepted: dino.yml holds scenarios without a `config` section, "
            "so Artillery needs the config file they were split from -> name it in "
            '[profiles.zoo.artillery] with config = "path/to/common-config.yml"') in text
    assert sum(_Zoo.seen.values()) == _Zoo.seen["/health"]  # no load: only preflight's health check
