"""`perfdash k8s-manifest`: the k6-operator TestRun's structure, and the follow path checked against
the local Prometheus by running what the operator would run (two k6 processes with its segment
and instance tags and the manifest's arguments) and following and merging them by testid."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from perfdash.events import REQUESTS, USERS, Bus, Event, ToolProgressed
from perfdash.prom.client import PromClient
from perfdash.tools.k6.generators import segments
from perfdash.tools.k6.locate import find_k6
from perfdash.tools.k6.merged import Merger, merged_metrics
from perfdash.tools.k6.promfollow import PromK6Follower
from tests.conftest import DemoService
from tests.prom_fixtures import PromStack
from tests.test_e2e_run import PERFDASH

SCRIPT = Path(__file__).resolve().parent.parent / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"


def _project(tmp: Path, prom: str, base_url: str = "http://api.staging:8000") -> Path:
    (tmp / "profiles.toml").write_text(f'''
[profiles.load]
[profiles.load.k6]
script = "{SCRIPT}"
generators = 3
stages = [{{ duration = "2s", target = 4 }}, {{ duration = "2s", target = 4 }}]
[profiles.load.thresholds.k6]
"http_req_duration" = ["p(95)<500"]

[environments.staging]
kind = "external"
base_url = "{base_url}"
prometheus_url = "{prom}"
''', encoding="utf-8")
    return tmp


def _manifest(tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp / "testrun.yaml"
    proc = subprocess.run([PERFDASH, "k8s-manifest", "--profile", "load", "--env", "staging",
                           "--project", str(tmp), "--run-id", "RUN-42", "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PERF_API_TOKEN": "s3cret-token-value"})
    return proc, out.read_text() if out.exists() else ""


def test_manifest_structure(tmp_path: Path) -> None:
    _project(tmp_path, "http://prometheus.monitoring:9090")
    proc, text = _manifest(tmp_path, "--namespace", "perf")
    assert proc.returncode == 0, proc.stderr
    assert "s3cret-token-value" not in text
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("kubectl -n perf create configmap perfdash-load-script --from-file=" in ln
               for ln in header)
    assert any("create secret generic perfdash-api-token" in ln for ln in header)
    assert any("perfdash attach --prometheus http://prometheus.monitoring:9090 --run-id RUN-42"
               in ln for ln in header)
    doc = yaml.safe_load(text)
    assert doc["apiVersion"] == "k6.io/v1alpha1"
    assert doc["kind"] == "TestRun"
    assert doc["metadata"]["name"] == "perfdash-load-run-42"
    assert doc["metadata"]["namespace"] == "perf"
    spec = doc["spec"]
    assert spec["parallelism"] == 3  # the profile's generators
    assert spec["script"] == {"configMap": {"name": "perfdash-load-script", "file": "demo-api.js"}}
    args = shlex.split(spec["arguments"])
    for flag in ("--no-usage-report", "--no-thresholds"):
        assert flag in args
    assert args[args.index("--tag") + 1] == "testid=RUN-42"
    assert args[args.index("-o") + 1] == "experimental-prometheus-rw"
    assert "BASE_URL=http://api.staging:8000" in args
    assert "--execution-segment" not in args  # the operator adds each pod's segment
    env = {e["name"]: e for e in spec["runner"]["env"]}
    assert env["K6_PROMETHEUS_RW_SERVER_URL"]["value"] == "http://prometheus.monitoring:9090/api/v1/write"
    assert env["K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"]["value"] == "true"
    assert env["K6_NO_USAGE_REPORT"]["value"] == "true"
    assert env["PERF_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "perfdash-api-token",
                                                                 "key": "token"}


def test_manifest_without_prometheus_is_one_sentence(tmp_path: Path) -> None:
    _project(tmp_path, "http://x:9090")
    config = tmp_path / "profiles.toml"
    config.write_text(config.read_text().replace('prometheus_url = "http://x:9090"\n', ""))
    proc, _ = _manifest(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "names no Prometheus" in proc.stderr
    assert "--prometheus-url" in proc.stderr


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_operator_run_followed_and_merged_through_prometheus(
        demo_service: DemoService, prom_stack: PromStack, tmp_path: Path) -> None:
    _project(tmp_path, prom_stack.url, demo_service.base_url)
    proc, text = _manifest(tmp_path, "--parallelism", "2")
    assert proc.returncode == 0, proc.stderr
    spec = yaml.safe_load(text)["spec"]
    env = {e["name"]: e["value"] for e in spec["runner"]["env"] if "value" in e}
    k6 = find_k6().path
    assert k6 is not None
    segs, sequence = segments(2)
    procs = []
    for i in range(2):
        # what k6-operator runs in pod i (pkg/resources/jobs/runner.go), plus a summary export
        argv = [str(k6), "run", "--quiet", "--execution-segment", segs[i],
                "--execution-segment-sequence", sequence, *shlex.split(spec["arguments"]),
                str(SCRIPT), "--address=127.0.0.1:0", "--tag", f"instance_id={i}",
                "--tag", "testrun_name=perfdash-load-run-42",
                "--summary-export", str(tmp_path / f"pod-{i}.json")]
        procs.append(subprocess.Popen(
            argv, env={**os.environ, **env, "PERF_API_TOKEN": demo_service.token.reveal()},
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"pod-{i}.log", "wb")))  # noqa: SIM115
    bus = Bus()
    seen: list[Event] = []
    bus.listen(seen.append)
    follower = PromK6Follower(bus, prom_stack.url, "RUN-42", 4.0, None, interval_s=0.5)
    follower.start()
    try:
        codes = [p.wait(timeout=60) for p in procs]
    finally:
        time.sleep(1.5)
        follower.stop()
    assert codes == [0, 0], [(tmp_path / f"pod-{i}.log").read_text()[-500:] for i in range(2)]
    progress = [e for e in seen if isinstance(e, ToolProgressed) and e.tool == "k6"]
    assert progress
    assert max(e.get(USERS) or 0 for e in progress) > 0
    pods = [json.loads((tmp_path / f"pod-{i}.json").read_text())["metrics"] for i in range(2)]
    total = sum(p["http_reqs"]["count"] for p in pods)
    assert progress[-1].get(REQUESTS) == total
    metrics = merged_metrics(Merger(PromClient(prom_stack.url), "RUN-42"), [], [])
    assert metrics["http_reqs"]["count"] == total
    assert metrics["http_req_duration"]["p(95)"] > 0
