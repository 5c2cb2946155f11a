"""Hostile stored files and settings: a summary.json with fields of the wrong type, a profiles.toml
nested hundreds of levels deep or saved with a byte order mark, and a database sampler that saw a
few seconds of a long load. Each is one sentence and exit 2/3, or a check that says it could not
measure, never a traceback (exit 1 would read as "thresholds breached") or a pass on no evidence.
Everything goes through the real entry point `perfdash.cli.main`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from perfdash.cli import main

from .conftest import ROOT

SMOKE = ROOT / "tests" / "data" / "smoke-pass"


def _summary_with(tmp_path: Path, **fields: Any) -> Path:
    run = Path(shutil.copytree(SMOKE, tmp_path / "run"))
    summary = json.loads((run / "summary.json").read_text())
    summary.update(fields)
    (run / "summary.json").write_text(json.dumps(summary))
    return run


@pytest.mark.parametrize(("fields", "named"), [
    ({"problems": "disk full"}, "problems is a string, not a list"),
    ({"problems": ["disk full"]}, "problems[0] is a string, not an object"),
    ({"problems": [{"what": 1}]}, "problems[0].what is a number, not a string"),
    ({"run": 7}, "run is a number, not an object"),
    ({"app_log": 7}, "app_log is a number, not an object or null"),
    ({"checks": [{"name": "x"}]}, "checks[0] has no 'status'"),
    ({"counts": 1, "tools": 2, "configuration": 3}, "counts is a number, not an object"),
    ({"configuration": {"profile": []}}, "configuration.profile is a list, not an object"),
    ({"exit_code": "0"}, "exit_code is a string, not a number"),
])
@pytest.mark.parametrize("how", [["--headless"], ["--json"]])
def test_show_of_a_summary_with_fields_of_the_wrong_type_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict[str, Any], named: str,
        how: list[str]) -> None:
    run = _summary_with(tmp_path, **fields)
    code = main(["show", *how, str(run)])
    captured = capsys.readouterr()
    assert code in (2, 3), captured.err
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert f"summary.json's {named}" in lines[0]


def test_compare_of_a_summary_with_fields_of_the_wrong_type_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _summary_with(tmp_path, checks=[{"name": "k6 p95", "status": 95}])
    code = main(["compare", str(SMOKE), str(run)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "checks[0].status is a number, not a string" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    for key in [k for k in os.environ if k.startswith("PERF_")]:
        monkeypatch.delenv(key)
    return tmp_path


def _settings_error(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["run", "--profile", "smoke", "--env", "local", "--headless", "--project",
                 str(project)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("depth", [600, 100_000])
def test_a_toml_array_nested_hundreds_deep_is_one_sentence(project: Path, depth: int,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    with (project / "profiles.toml").open("a") as f:
        f.write(f"\n[defaults.deep]\nx = {'[' * depth}{']' * depth}\n")
    line = _settings_error(project, capsys)
    assert "profiles.toml nests arrays or tables hundreds of levels deep" in line


def test_a_byte_order_mark_is_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "profiles.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    line = _settings_error(project, capsys)
    assert "profiles.toml starts with a UTF-8 byte order mark (BOM)" in line
    assert "Invalid statement" not in line


def test_a_byte_order_mark_in_the_env_file_is_named_not_a_lost_variable(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".env.performance").write_bytes(b"\xef\xbb\xbfPERF_BASE_URL=http://127.0.0.1:1\n")
    line = _settings_error(project, capsys)
    assert ".env.performance starts with a UTF-8 byte order mark (BOM)" in line


def _show_checks(run: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    main(["show", "--json", str(run)])
    return {c["id"]: c for c in json.loads(capsys.readouterr().out)["checks"]}


def _with_connections(tmp_path: Path, samples: int, elapsed_s: float) -> Path:
    run = Path(shutil.copytree(SMOKE, tmp_path / "run"))
    summary = json.loads((run / "summary.json").read_text())
    for tool in summary["tools"].values():
        tool["elapsed_s"] = elapsed_s
    (run / "summary.json").write_text(json.dumps(summary))
    rows = [f"2026-11-25T15:12:{10 + i:02d}+00:00,3,1,2,0,0,100,0" for i in range(samples)]
    (run / "db-connections.csv").write_text(
        "timestamp,total,active,idle,idle_in_transaction,other,max_connections,waiting_locks\n"
        + "\n".join(rows) + "\n")
    return run


def test_connections_peak_on_three_samples_of_a_long_load_is_not_measured(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check = _show_checks(_with_connections(tmp_path, 3, 60.0), capsys)["db.connections"]
    assert check["status"] == "not measured"
    assert "only 3 samples in db-connections.csv over 60 s of load" in check["detail"]


def test_connections_peak_with_a_sample_a_second_is_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check = _show_checks(_with_connections(tmp_path, 21, 20.8), capsys)["db.connections"]
    assert check["status"] == "pass"
    assert check["detail"] == "peak 3 of 100 (3%) over 21 samples"


def test_sequential_scans_have_their_own_source_when_not_measured(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(SMOKE, tmp_path / "run"))
    (run / "query-analysis.json").unlink()
    checks = _show_checks(run, capsys)
    assert checks["db.seq_scans"]["status"] == "not measured"
    assert checks["db.seq_scans"]["source"] == "guide: sequential scans"
    assert checks["db.slow_queries"]["source"] == "guide: queries slower than 100 ms"


@pytest.mark.parametrize("key", ["99999", "¹", "x"])
def test_an_app_log_bucket_that_is_no_bucket_number_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    run = Path(shutil.copytree(ROOT / "tests" / "data" / "smoke-full", tmp_path / "run"))
    counted = json.loads((run / "applog-endpoints.json").read_text())
    route = next(iter(counted["routes"].values()))
    route["buckets"][key] = 1
    (run / "applog-endpoints.json").write_text(json.dumps(counted))
    code = main(["show", "--json", str(run)])
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 1, 3)
    assert f"buckets has the key {key!r}, not a bucket number" in out["endpoints"]["missing"]["log"]
