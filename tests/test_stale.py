"""Markers of throwaway clusters (perfdash/demo/stale.py): only what a dead perfdash left is touched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from perfdash.demo import stale


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PERFDASH_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def marker(tmp_path: Path, name: str, pid: int, start: int | None) -> tuple[Path, Path]:
    cluster = tmp_path / f"{stale.CLUSTER_PREFIX}{name}"
    (cluster / "data").mkdir(parents=True)
    path = stale.marker_dir() / f"{cluster.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"owner_pid": pid, "owner_start": start, "cluster_dir": str(cluster),
                                "pg_ctl": "/bin/false", "run_as": None}))
    return path, cluster


def test_a_gone_or_reused_owner_is_stale_a_running_one_is_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    me = os.getpid()
    _, gone = marker(tmp_path, "gone", dead.pid, 1)
    _, reused = marker(tmp_path, "reused", me, (stale.process_start_time(me) or 0) + 1)
    live_marker, live = marker(tmp_path, "live", me, stale.process_start_time(me))
    said = stale.cleanup_stale(lambda _line: None)
    assert len(said) == 2
    assert all("removed" in line for line in said)
    assert not gone.exists()
    assert not reused.exists()
    assert live.exists()
    assert [m.path for m in stale.read_markers()] == [live_marker]


def test_a_marker_naming_a_foreign_directory_never_deletes_it(tmp_path: Path) -> None:
    foreign = tmp_path / "precious"
    foreign.mkdir()
    path = stale.marker_dir() / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"owner_pid": 999999999, "owner_start": 1,
                                "cluster_dir": str(foreign), "pg_ctl": "/bin/false"}))
    [line] = stale.cleanup_stale(lambda _line: None)
    assert "not a perfdash cluster directory" in line
    assert foreign.exists()


@pytest.mark.slow  # starts its own PostgreSQL cluster
def test_a_cluster_writes_its_marker_and_a_clean_stop_removes_it() -> None:
    from perfdash.demo.pgcluster import ThrowawayPostgres

    pg = ThrowawayPostgres()
    pg.start()
    try:
        [m] = stale.read_markers()
        assert m.cluster_dir == pg.root
        assert m.owner_pid == os.getpid()
        assert m.owner_alive
    finally:
        pg.stop()
    assert stale.read_markers() == []
