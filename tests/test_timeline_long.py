"""A day-long timeline for the result view: the charts' thinning of 86,400 rows gives exactly the
minimum and maximum of each bucket (a one-second spike and Artillery's 10 s gaps included), and a
second read of the same file comes from the parsed copy in the cache, which a re-recorded or
damaged file never gets."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from perfdash.artifacts import timeline as reader
from perfdash.artifacts import timeline_cache as cache
from perfdash.artifacts.timeline import Timeline, read_timeline
from perfdash.timeline.recorder import MARKERS_NDJSON, TIMELINE_CSV
from perfdash.ui.result.chart_data import charts_view

DAY = 86_400
SPIKE_AT = 50_123  # the one second k6's p95 reached 900 ms


@pytest.fixture(autouse=True)
def _store_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "STORE_AFTER_S", 0.0)


def _p95(i: int) -> float:
    return 900.0 if i == SPIKE_AT else 10.0 + i % 7


def _write_day(run: Path, rows: int = DAY) -> Path:
    """k6 every second (a sawtooth of period 7 and one spike), Artillery every 10th second, a
    column nothing measured, and a marker after the last row."""
    run.mkdir(exist_ok=True)
    with (run / TIMELINE_CSV).open("w") as f:
        f.write("t_s,k6_rps,k6_p95_ms,art_rps,srv_p95_ms\n")
        for i in range(rows):
            art = f"{i // 10 % 50}" if i % 10 == 0 else ""
            f.write(f"{i},{100 + i % 3},{_p95(i):.1f},{art},\n")
    (run / MARKERS_NDJSON).write_text('{"t_s": 86400, "kind": "phase", "text": "analysis"}\n')
    return run / TIMELINE_CSV


def _fresh(run: Path) -> Timeline:
    """The run's timeline as a new process reads it: not from this process's memory."""
    reader._read_cached.cache_clear()
    timeline, problem = read_timeline(run)
    assert problem is None
    assert timeline is not None
    return timeline


def _wait_for_cache(path: Path) -> None:
    for writer in [t for t in threading.enumerate() if t.name == "timeline-cache"]:
        writer.join(30)
    assert cache.load(path, cache.identity(path) or (0, 0, 0, 0)) is not None


def test_a_day_thins_to_each_buckets_minimum_and_maximum(tmp_path: Path) -> None:
    _write_day(tmp_path)
    day = _fresh(tmp_path)
    assert len(day) == DAY
    thin = day.downsample(300)  # 150 buckets of 576 seconds, two rows each
    assert len(thin) == 300
    assert thin.t[:4] == [0.0, 575.0, 576.0, 1151.0]
    p95 = thin.series["k6_p95_ms"]
    spike_bucket = SPIKE_AT // 576
    for b in range(150):
        assert p95[2 * b] == 10.0  # the sawtooth's floor is in every bucket
        assert p95[2 * b + 1] == (900.0 if b == spike_bucket else 16.0)
    art = thin.series["art_rps"]  # nine gaps in ten: filtered, not taken for values
    assert art[0] == 0.0
    assert art[1] == 49.0
    assert all(v is not None for v in art)
    assert thin.series["srv_p95_ms"] == [None] * 300
    last = day.downsample(150, envelope=False)
    assert last.t[-1] == DAY - 1.0
    assert last.series["k6_p95_ms"][-1] == _p95(DAY - 1)
    assert last.series["art_rps"][-1] == float((DAY - 10) // 10 % 50)  # the bucket's last window
    # the whole run's view shares the day's columns instead of copying them
    view = charts_view(day, None, 300)
    assert view.points == DAY
    assert (view.t0, view.t1) == (0.0, float(DAY))
    latency = next(c for c in view.charts if c.spec.key == "latency")
    assert max(max(s.ys) for s in latency.series) == 900.0
    assert "server p95" not in {s.label for s in latency.series}  # nothing measured, no line


def test_the_second_read_of_a_day_comes_from_the_cache(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_day(tmp_path)
    parsed = _fresh(tmp_path)
    _wait_for_cache(path)
    assert list(cache.cache_dir().glob("*.bin"))
    monkeypatch.setattr(reader, "_parse", lambda text: pytest.fail("parsed again"))
    again = _fresh(tmp_path)
    assert again.t == parsed.t
    assert again.series == parsed.series  # None where nothing was measured, as parsed
    assert again.markers == parsed.markers


def test_a_rewritten_timeline_is_parsed_again(tmp_path: Path) -> None:
    path = _write_day(tmp_path)
    _fresh(tmp_path)
    _wait_for_cache(path)
    stamp = path.stat()
    row = f"\n{SPIKE_AT},{100 + SPIKE_AT % 3},"
    text = path.read_text().replace(f"{row}900.0,", f"{row}100.0,")
    assert len(text) == stamp.st_size
    path.write_text(text)  # the same size: the spike analysed away
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))
    again = _fresh(tmp_path)
    assert again.series["k6_p95_ms"][SPIKE_AT] == 100.0


def test_a_damaged_cache_is_ignored(tmp_path: Path) -> None:
    path = _write_day(tmp_path)
    parsed = _fresh(tmp_path)
    _wait_for_cache(path)
    for entry in cache.cache_dir().glob("*.bin"):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])  # cut short, as a full disk leaves it
    again = _fresh(tmp_path)
    assert again.series == parsed.series


def test_a_short_timeline_is_not_cached(tmp_path: Path) -> None:
    _write_day(tmp_path, rows=3_600)  # an hour: well under a megabyte, parsed in milliseconds
    _fresh(tmp_path)
    assert not cache.cache_dir().exists() or not list(cache.cache_dir().glob("*.bin"))


@pytest.mark.parametrize("odd", ["1.", "+1", "01", "-0.5", "1E-2", "1e3", " 2", "inf", "nan",
                                 "1_000", "true", "null", "[1]"])
def test_every_cell_reads_as_float_reads_it(tmp_path: Path, odd: str) -> None:
    """The recorder writes plain numbers, read as one JSON array per block; a cell JSON refuses or
    reads otherwise (true, null) is still read as `float` reads it, or as not measured."""
    cells = ["12", "", "3.25", odd, "-7", "1e-3"]
    with (tmp_path / TIMELINE_CSV).open("w") as f:
        f.write("t_s,x,y\n")
        for i in range(2_000):
            f.write(f"{i},{cells[i % len(cells)]},{i % 5}\n")
    timeline = _fresh(tmp_path)

    def as_float(cell: str) -> float | None:
        try:
            value = float(cell)
        except ValueError:
            return None
        return None if math.isnan(value) else value  # NaN: not measured

    assert timeline.series["x"] == [as_float(cells[i % len(cells)]) for i in range(2_000)]
    assert timeline.series["y"] == [float(i % 5) for i in range(2_000)]
    assert timeline.t == [float(i) for i in range(2_000)]
    assert all(type(v) is float for v in timeline.t + timeline.series["y"])


def test_a_process_that_exits_at_once_still_leaves_the_cache(tmp_path: Path) -> None:
    """`perfdash show` quit within the second after its charts: the next look is still quick."""
    _write_day(tmp_path)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", "import sys\nfrom pathlib import Path\n"
                    "from perfdash.artifacts.timeline import read_timeline\n"
                    "assert read_timeline(Path(sys.argv[1]))[0] is not None", str(tmp_path)],
                   env=env, check=True, timeout=120)
    assert len(list(cache.cache_dir().glob("*.bin"))) == 1
