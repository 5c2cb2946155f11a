"""`perfdash attach --prometheus URL --run-id ID`: a k6 run that only Prometheus sees (what a
k6-operator TestRun is, or generators started elsewhere), followed by its testid with real
processes: two local k6 generators writing to the session's Prometheus through
experimental-prometheus-rw, tagged with the run id, against the demo backend; the headless
attacher started before them reports live progress, ends by itself once their series stop, and
reports a merged request count equal to the sum of the generators' own summaries."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from perfdash.net import free_port
from perfdash.tools.k6.generators import segments, tag_args
from perfdash.tools.k6.genspec import rw_env
from perfdash.tools.k6.locate import find_k6
from tests.conftest import ROOT, DemoService
from tests.prom_fixtures import PromStack
from tests.test_e2e_run import PERFDASH

SCRIPT = ROOT / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        env.pop(var, None)
    return env


def _generators(k6: Path, demo: DemoService, prom: str, testid: str, tmp: Path
                ) -> list[subprocess.Popen[bytes]]:
    segs, sequence = segments(2)
    env = {**_env(), **rw_env(prom), "K6_NO_USAGE_REPORT": "true",
           "PERF_API_TOKEN": demo.token.reveal()}
    procs = []
    for i in range(2):
        argv = [str(k6), "run", "--no-usage-report", "--quiet", "--no-thresholds",
                "--execution-segment", segs[i], "--execution-segment-sequence", sequence,
                *tag_args(testid, f"gen-{i + 1}"), "-o", "experimental-prometheus-rw",
                "--vus", "4", "--duration", "4s", "-e", f"BASE_URL={demo.base_url}",
                "--address", f"127.0.0.1:{free_port()}",
                "--summary-export", str(tmp / f"gen-{i + 1}.json"), str(SCRIPT)]
        with (tmp / f"gen-{i + 1}.log").open("wb") as log:
            procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                          stdin=subprocess.DEVNULL))
    return procs


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_headless_attach_follows_two_generators_and_merges_them(
        demo_service: DemoService, prom_stack: PromStack, tmp_path: Path) -> None:
    k6 = find_k6().path
    assert k6 is not None
    testid = f"attach-{uuid.uuid4().hex[:8]}"
    results = tmp_path / "results"
    attacher = subprocess.Popen(
        [PERFDASH, "attach", "--headless", "--prometheus", prom_stack.url, "--run-id", testid,
         "--quiet-after", "3", "--results-dir", str(results), "--project", str(tmp_path)],
        cwd=tmp_path, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (results.exists() and any(results.iterdir())):
            assert attacher.poll() is None, attacher.communicate()
            assert time.monotonic() < deadline, "the attacher never started observing"
            time.sleep(0.1)
        procs = _generators(k6, demo_service, prom_stack.url, testid, tmp_path)
        codes = [p.wait(timeout=60) for p in procs]
        out, err = attacher.communicate(timeout=40)
    finally:
        if attacher.poll() is None:
            attacher.kill()
            attacher.wait()
    assert codes == [0, 0], [(tmp_path / f"gen-{i}.log").read_text()[-800:] for i in (1, 2)]
    own = [json.loads((tmp_path / f"gen-{i}.json").read_text())["metrics"]["http_reqs"]["count"]
           for i in (1, 2)]
    total = sum(own)
    assert total > 0
    run_dir = next(results.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert attacher.returncode == summary["exit_code"], out[-3000:] + err[-2000:]
    assert summary["profile"] == "observed"
    # live: it saw the series appear and followed them until they stopped
    assert f"k6 testid={testid} seen in Prometheus" in out
    assert "no new samples for 3 s" in out
    progress = [json.loads(line) for line in
                (run_dir / "k6-progress.ndjson").read_text().splitlines()]
    assert len(progress) >= 3
    assert max(p["vus"] for p in progress) > 0
    assert any(p["p95_ms"] for p in progress)  # from the merged native histograms
    assert progress[-1]["requests"] == total
    # the end: the merged result, its request count the sum of the generators' own summaries
    match = re.search(rf"k6 testid={testid} merged from Prometheus: (\d+) requests "
                      r"\(gen-1 (\d+), gen-2 (\d+)\), p95 [\d.]+ ms", out)
    assert match, out[-3000:]
    assert [int(g) for g in match.groups()] == [total, *own]
    merged = json.loads((run_dir / "k6-observed.json").read_text())
    assert merged["metrics"]["http_reqs"]["count"] == total
    assert merged["metrics"]["http_req_duration"]["p(95)"] > 0
    assert merged["merged"]["testid"] == testid
    assert 0 < merged["merged"]["relative_error"] < 0.1
    assert summary["observed"]["prometheus"]["requests"] == total
    # no host, database or app log was named (no --env): those checks say "not measured"
    assert {c["status"] for c in summary["checks"]} == {"not measured"}
    assert summary["status"] == "incomplete"
    rows = (run_dir / "timeline.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert any(r.split(",")[header.index("k6_rps")] not in ("", "0", "0.0") for r in rows[1:])
    assert demo_service.token.reveal() not in (run_dir / "events.ndjson").read_text()
    # compare reads the merged result like any k6 summary
    compare = subprocess.run([PERFDASH, "compare", str(run_dir), str(run_dir)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert compare.returncode == 0, compare.stdout[-2000:] + compare.stderr
    assert "k6 http_req_duration" in compare.stdout


def test_prometheus_that_does_not_answer_is_one_sentence(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run([PERFDASH, "attach", "--headless", "--prometheus", url, "--run-id", "x",
                           "--results-dir", str(tmp_path / "results")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode == 3
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert f"nothing answers at {url}" in proc.stderr
    assert "--prometheus" in proc.stderr
    assert not (tmp_path / "results").exists()  # nothing observed, nothing written
    # a password in the URL is never repeated
    secret = "pw-" + uuid.uuid4().hex
    proc = subprocess.run([PERFDASH, "attach", "--headless", "--prometheus",
                           f"http://perf:{secret}@127.0.0.1:{free_port()}", "--run-id", "x",
                           "--results-dir", str(tmp_path / "results")],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode == 3
    assert secret not in proc.stdout + proc.stderr


def test_run_id_without_prometheus_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run([PERFDASH, "attach", "--run-id", "x"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert "--prometheus and --run-id go together" in proc.stderr


@pytest.mark.e2e
@pytest.mark.timeout(90)
async def test_the_live_screen_follows_the_generators_to_the_merged_result(
        demo_service: DemoService, prom_stack: PromStack, tmp_path: Path) -> None:
    """The dashboard `attach --prometheus` opens (built by the command's own code): k6's pane
    fills from Prometheus while the generators run, Artillery says it is not part of the run,
    and when their series stop the screen turns into the result view of the observed run."""
    import argparse

    from perfdash.commands.attach import observer_settings, prometheus_dashboard
    from perfdash.events import Bus
    from perfdash.follow.observe import Observer, PromTarget
    from perfdash.ui.live.tool_pane import ToolPane
    from perfdash.ui.result.result_screen import ResultScreen

    k6 = find_k6().path
    assert k6 is not None
    testid = f"screen-{uuid.uuid4().hex[:8]}"
    args = argparse.Namespace(environment=None, prometheus=prom_stack.url, project=tmp_path,
                              results_dir=tmp_path / "results", config=None, env_file=None)
    made = observer_settings(args)
    assert made is not None
    settings, env, measure_host = made
    observer = Observer(settings, env, Bus(), measure_host=measure_host,
                        prometheus=PromTarget(prom_stack.url, testid, 3.0, 0.5))
    app = prometheus_dashboard(observer)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.5)
            procs = _generators(k6, demo_service, prom_stack.url, testid, tmp_path)
            k6_seen = art = ""
            for _ in range(200):
                await pilot.pause(0.2)
                if isinstance(app.screen, ResultScreen):
                    break
                k6_view = app.state.tools.get("k6")
                if k6_view is not None and (k6_view.get("users") or 0) > 0 and not k6_seen:
                    k6_seen = app.screen.query_one("#tool-k6", ToolPane).plain
                    art = app.screen.query_one("#tool-artillery", ToolPane).plain
            assert isinstance(app.screen, ResultScreen)
            assert k6_seen, "k6's pane never showed VUs from Prometheus"
            assert "not part of this run" in art
            codes = [p.wait(timeout=5) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert codes == [0, 0]
    total = sum(json.loads((tmp_path / f"gen-{i}.json").read_text())["metrics"]["http_reqs"]
                ["count"] for i in (1, 2))
    k6_view = app.state.tools.get("k6")
    assert k6_view is not None
    assert k6_view.get("requests") == total
    assert observer.merged is not None
    assert observer.merged["metrics"]["http_reqs"]["count"] == total
    assert observer.paths is not None
    assert (observer.paths.root / "k6-observed.json").is_file()
