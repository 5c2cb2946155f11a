"""k6 split across two local generators (execution segments), merged through a real Prometheus
with native histograms, against the real demo backend.

The accuracy test takes every generator's raw samples (`--out csv`, in this test only) and
checks the merged p50/p95/p99 against the exact percentiles of all samples together, within the
error the native histogram states (its bucket growth factor), and that the merged request count
is exactly the sum of the generators'. A threshold only the whole load crosses fails the run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from perfdash.net import free_port
from perfdash.settings import K6Stage, Profile
from perfdash.thresholds import make_threshold
from perfdash.tools.k6.generators import generator_argv, launch, segments, write_spec
from perfdash.tools.k6.genspec import SPEC_NAME, Spec, summary_path
from perfdash.tools.k6.locate import find_k6
from perfdash.tools.k6.merged import MergeError, judge, merge_run, split_metric
from perfdash.tools.k6.report import read_k6_summary
from tests.conftest import ROOT, DemoService
from tests.prom_fixtures import PromStack

pytestmark = pytest.mark.e2e

SCRIPT = ROOT / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"
ITERATIONS = 160  # shared iterations, split evenly: 80 per generator


def test_segments_cover_the_whole_test() -> None:
    assert segments(1) == (["0:1"], "0,1")
    assert segments(2) == (["0:1/2", "1/2:1"], "0,1/2,1")
    assert segments(3) == (["0:1/3", "1/3:2/3", "2/3:1"], "0,1/3,2/3,1")
    segs, seq = segments(4)
    assert segs[0].startswith("0:")
    assert segs[-1].endswith(":1")
    assert seq == "0,1/4,1/2,3/4,1"


def _exact(values: list[float], q: float) -> tuple[float, float]:
    """The q-quantile of all samples as (nearest rank, linear interpolation), in ms."""
    ordered = sorted(values)
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[rank], ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _raw_durations(path: Path) -> tuple[list[float], int]:
    durations: list[float] = []
    requests = 0
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["metric_name"] == "http_req_duration":
                durations.append(float(row["metric_value"]))
            elif row["metric_name"] == "http_reqs":
                requests += int(float(row["metric_value"]))
    return durations, requests


@pytest.mark.timeout(120)
def test_two_generators_merged_counts_percentiles_and_thresholds(
        demo_service: DemoService, prom_stack: PromStack, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    k6 = find_k6()
    assert k6.path is not None
    profile = Profile("smoke", "", "parallel", SCRIPT, None, (K6Stage("1s", 1),), (), (),
                      project_dir=ROOT, k6_generators=2)
    # the whole load crosses this; either generator alone (80 iterations) would not
    crossed = make_threshold("k6", "iterations", "count<120", "test")
    held = make_threshold("k6", "http_req_duration", "p(95)<60000", "test")
    assert crossed is not None
    assert held is not None
    (tmp_path / "k6-config.json").write_text(json.dumps({"thresholds": {}}))
    argvs = []
    for i in range(2):
        argv = generator_argv(k6.path, profile, tmp_path, demo_service.base_url, i, 2,
                              tmp_path.name, ["--out", f"csv={tmp_path / f'raw-{i}.csv'}"])
        # shared iterations instead of stages: an exact split, so each generator's count is known
        stage = argv.index("--stage")
        argv[stage:stage + 2] = ["--iterations", str(ITERATIONS), "--vus", "4"]
        argvs.append(argv)
    spec_path = write_spec(tmp_path, profile, argvs, ROOT, tmp_path.name, prom_stack.url,
                           [crossed, held])
    monkeypatch.setenv("PERF_API_TOKEN", demo_service.token.reveal())
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)

    code = launch(Spec.read(spec_path))

    merged, problem = read_k6_summary(tmp_path / "k6-smoke.json")
    assert merged is not None, problem
    gens = [read_k6_summary(summary_path(tmp_path, "smoke", i))[0] for i in range(2)]
    assert all(g is not None for g in gens)
    # each generator alone stays under the threshold; the merged run crosses it and fails
    assert [g.value("iterations", "count") for g in gens if g] == [80, 80]
    assert merged.value("iterations", "count") == ITERATIONS
    assert merged.verdict("iterations", "count<120") is False
    assert merged.verdict("http_req_duration", "p(95)<60000") is True
    assert code == 99

    # request counts: merged == sum of the generators' summaries == rows in the raw output
    raw = [_raw_durations(tmp_path / f"raw-{i}.csv") for i in range(2)]
    gen_requests = [g.requests() for g in gens if g]
    assert merged.requests() == sum(gen_requests) == sum(r for _, r in raw)

    # percentiles: merged (Prometheus, native histograms) against the exact ones of all samples
    data = json.loads((tmp_path / "k6-smoke.json").read_text())
    error = data["merged"]["relative_error"]
    assert error is not None
    assert 0 < error < 0.1
    samples = [d for durations, _ in raw for d in durations]
    assert len(samples) == merged.requests()
    figures = {}
    for stat, q in (("med", 0.5), ("p(95)", 0.95), ("p(99)", 0.99)):
        got = merged.value("http_req_duration", stat)
        assert got is not None
        nearest, linear = _exact(samples, q)
        rel = abs(got - nearest) / nearest
        figures[stat] = {"merged_ms": round(got, 3), "exact_ms": round(nearest, 3),
                         "exact_interpolated_ms": round(linear, 3),
                         "relative_diff": round(rel, 4)}
        assert rel <= error, (stat, got, nearest, error)
    report = {"samples": len(samples), "requests": gen_requests, "stated_error": error,
              "figures": figures}
    (tmp_path / "accuracy.json").write_text(json.dumps(report, indent=1))
    print("accuracy:", json.dumps(report), file=sys.stderr)
    assert (tmp_path / SPEC_NAME).is_file()
    assert os.environ.get("PERF_API_TOKEN", "") not in (tmp_path / SPEC_NAME).read_text()


def test_tagged_metrics_split_into_labels() -> None:
    assert split_metric("http_req_duration") == ("http_req_duration", {})
    assert split_metric("http_req_duration{name:products}") == ("http_req_duration",
                                                                {"name": "products"})
    assert split_metric("http_reqs{name:a,status:200}") == ("http_reqs",
                                                            {"name": "a", "status": "200"})


def test_a_threshold_without_merged_data_is_never_judged() -> None:
    held = make_threshold("k6", "http_req_duration", "p(95)<500", "test")
    missing = make_threshold("k6", "http_req_duration{name:nowhere}", "p(95)<500", "test")
    crossed = make_threshold("k6", "http_reqs", "count<10", "test")
    assert held is not None
    assert missing is not None
    assert crossed is not None
    metrics: dict[str, dict[str, Any]] = {"http_req_duration": {"p(95)": 120.0},
                                          "http_reqs": {"count": 25.0}}
    judge(metrics, [held, missing, crossed])
    assert metrics["http_req_duration"]["thresholds"] == {"p(95)<500": False}
    assert metrics["http_reqs"]["thresholds"] == {"count<10": True}
    assert "http_req_duration{name:nowhere}" not in metrics  # left "not measured" by the checks


def test_merge_with_prometheus_gone_is_a_sentence_not_a_pass(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    spec = Spec("smoke", str(tmp_path), str(tmp_path), "t1", url, [["k6"], ["k6"]], {}, [])
    with pytest.raises(MergeError, match=f"nothing answers at {url}"):
        merge_run(spec, [0, 0], 0.0, 1.0)
