"""compare and history on runs that measured hosts: "host CPU" is the busiest backend host's,
second by second; generators and hosts that did not answer never count, and an idle backend host
never averages a saturated one away."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from perfdash.analyze.compare import compare_runs
from perfdash.analyze.history import read_run
from perfdash.analyze.host_groups import with_backend_host_columns
from perfdash.artifacts.timeline import read_timeline
from perfdash.collect.remote_hosts import FIELDS

PASS = Path(__file__).parent / "data" / "smoke-pass"
HOSTS = (("api-1", "backend"), ("api-2", "backend"), ("gen-1", "generator"))
SECONDS = 60


def _run(root: Path, name: str, api2_cpu: float) -> Path:
    """A finished run whose api-1 idles at 20% CPU, api-2 runs at `api2_cpu` (down for the last
    ten seconds) and the generator is saturated at 95%."""
    run = root / name
    shutil.copytree(PASS, run)
    (run / "hosts.json").write_text(json.dumps({"hosts": [{"name": n, "role": r}
                                                          for n, r in HOSTS]}))
    header = ["timestamp", "elapsed_s", *(f"{n}.{f}" for n, _ in HOSTS for f in FIELDS)]
    cpu = {"api-1": 20.0, "api-2": api2_cpu, "gen-1": 95.0}
    rows = []
    timeline = ["t_s,cpu_pct,mem_pct," + ",".join(
        f"host.{n}.{f}" for n, _ in HOSTS for f in ("cpu_pct", "mem_pct", "load1"))]
    for i in range(SECONDS):
        up = {n: not (n == "api-2" and i >= SECONDS - 10) for n, _ in HOSTS}
        cells = [f"2026-11-30T10:00:{i:02d}", f"{i}"]
        line = [f"{i}", "20.0", "40.0"]  # the recorder's own columns follow api-1
        for n, _ in HOSTS:
            values = {"cpu_pct": cpu[n] + i % 3, "mem_pct": 40.0 + (n == "api-2") * 10,
                      "load1": 1.0, "up": 1}
            cells += [str(values.get(f, 0)) if up[n] else ("0" if f == "up" else "")
                      for f in FIELDS]
            line += [str(values[f]) if up[n] else "" for f in ("cpu_pct", "mem_pct", "load1")]
        rows.append(",".join(cells))
        timeline.append(",".join(line))
    summary = json.loads((run / "summary.json").read_text())
    # a run with hosts has per-host checks (host.api-1.cpu ...), not the single machine's
    summary["checks"] = [c for c in summary["checks"] if not c["id"].startswith("host.")]
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.csv").write_text("\n".join([",".join(header), *rows]) + "\n")
    (run / "timeline.csv").write_text("\n".join(timeline) + "\n")
    return run


def test_the_timeline_follows_the_busiest_backend_host(tmp_path: Path) -> None:
    run = _run(tmp_path, "20261130T100000Z", 70.0)
    timeline, problem = read_timeline(run)
    assert problem is None
    assert timeline is not None
    busiest = with_backend_host_columns(timeline, run)
    cpu = busiest.series["cpu_pct"]
    assert cpu[:3] == [70.0, 71.0, 72.0]  # api-2, not api-1 (20) nor the generator (95)
    assert cpu[-1] == 20.0 + (SECONDS - 1) % 3  # api-2 down: api-1 is the busiest that answered
    assert busiest.series["mem_pct"][0] == 50.0
    assert timeline.series["cpu_pct"][0] == 20.0  # the recorder's own column is left as it was


def test_compare_judges_host_cpu_on_the_busiest_backend_host(tmp_path: Path) -> None:
    base = _run(tmp_path, "20261130T100000Z", 40.0)
    new = _run(tmp_path, "20261130T110000Z", 80.0)
    deltas = {d.key: d for d in compare_runs(base, new).deltas}
    cpu = deltas["metric:host.cpu.p95"]
    assert cpu.base is not None
    assert cpu.new is not None
    assert 40.0 <= cpu.base <= 42.0  # api-2's p95, never the generator's 95%
    assert 80.0 <= cpu.new <= 82.0
    assert cpu.verdict == "regressed"


def test_history_reads_the_busiest_backend_host(tmp_path: Path) -> None:
    entry = read_run(_run(tmp_path, "20261130T100000Z", 60.0))
    assert entry is not None
    assert 60.0 <= entry.values["cpu"] <= 62.0
