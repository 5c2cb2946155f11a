"""A whole `perfdash run` with k6 across two generators and the backend measured through
node_exporter: real Prometheus, node_exporters, k6 and the demo backend. The run's artifacts must
be those of any k6 run (one merged `k6-<profile>.json`, checks, timeline), with each generator's
own summary beside it and the hosts in metrics.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, DemoService
from tests.prom_fixtures import PromStack
from tests.test_e2e_run import run_perfdash

pytestmark = pytest.mark.e2e

SCRIPT = ROOT / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"


def _config(tmp: Path, prom_url: str) -> Path:
    config = tmp / "profiles.toml"
    config.write_text(f'''
[profiles.gens]
description = "two k6 generators"
[profiles.gens.k6]
script = "{SCRIPT}"
generators = 2
stages = [{{ duration = "3s", target = 4 }}, {{ duration = "5s", target = 4 }}]
[profiles.gens.thresholds.k6]
"http_req_duration" = ["p(95)<5000"]
"checks" = ["rate>=0.9"]

[environments.staging]
kind = "external"
prometheus_url = "{prom_url}"
[environments.staging.hosts]
gen-1 = {{ role = "generator", instance = "gen-1" }}
api-1 = {{ role = "backend", instance = "api-1" }}
''', encoding="utf-8")
    return config


@pytest.mark.timeout(150)
def test_run_with_two_generators_and_remote_hosts(demo_service: DemoService, prom_stack: PromStack,
                                                  tmp_path: Path) -> None:
    config = _config(tmp_path, prom_stack.url)
    env = {"PERF_BASE_URL": demo_service.base_url, "PERF_API_TOKEN": demo_service.token.reveal(),
           "PERF_DATABASE_URL": demo_service.database_url.reveal()}
    result = run_perfdash(["run", "--profile", "gens", "--env", "staging", "--headless",
                           "--config", str(config), "--project", str(tmp_path)], tmp_path / "res",
                          env=env)
    out = result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.json("summary.json")
    checks = {c["id"]: c for c in summary["checks"]}
    assert result.code == 0, out + json.dumps(summary["checks"], indent=1)[:4000]
    # k6: one merged result judged on the whole load, each generator's summary beside it
    merged = result.json("k6-gens.json")
    gens = [result.json(f"k6-gens.gen-{i}.json") for i in (1, 2)]
    assert merged["metrics"]["http_reqs"]["count"] == sum(g["metrics"]["http_reqs"]["count"]
                                                          for g in gens)
    assert merged["merged"]["testid"] == result.run_dir.name
    assert checks["k6.http_req_duration.p(95)"]["status"] == "pass"
    assert checks["k6.checks_rate"]["status"] == "pass"
    assert checks["k6.exit"]["status"] == "pass"
    # hosts: the backend and the generator host, one column group each
    with (result.run_dir / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    assert "api-1.cpu_pct" in rows[0]
    assert "gen-1.cpu_pct" in rows[0]
    assert checks["host.api-1.cpu"]["status"] in ("pass", "warn")
    assert checks["host.gen-1.saturation"]["status"] in ("pass", "warn")
    assert "host.cpu" not in checks
    # the timeline: k6 load and latency from Prometheus, host columns from api-1
    with (result.run_dir / "timeline.csv").open(newline="") as f:
        trows = list(csv.DictReader(f))
    assert any(r["k6_vus"] and float(r["k6_vus"]) > 0 for r in trows)
    assert any(r["k6_p95_ms"] for r in trows)
    assert any(r["cpu_pct"] for r in trows)
    assert demo_service.token.reveal() not in (result.run_dir / "k6-generators.json").read_text()
