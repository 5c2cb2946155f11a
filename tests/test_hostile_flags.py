"""Hostile flags, names and summaries, each answered in one sentence: a tolerance or minimum effect
that is negative, infinite or NaN; a profile named like a path; the pool `--baseline auto` uses as
`history` announces it; a database message under `database_url_env`; a summary.json holding only
its schema version. Through the real entry point `perfdash.cli.main`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from perfdash.analyze.baseline import AUTO_MAX_RUNS, resolve_baseline
from perfdash.cli import main
from perfdash.run.preflight import check_database
from perfdash.secret import Secret
from perfdash.settings import SettingsError, load_settings

from .conftest import ROOT
from .in_process import run_perfdash
from .test_history import make_run

COMPARE = ROOT / "tests" / "data" / "compare"


@pytest.mark.parametrize(("flag", "value", "what"), [
    ("--tolerance", "-5", "--tolerance -5 is not a share of the base"),
    ("--tolerance", "inf", "--tolerance inf is not a share of the base"),
    ("--tolerance", "nan", "--tolerance nan is not a share of the base"),
    ("--min-effect", "nan", "--min-effect nan is not a latency"),
    ("--min-effect", "-1", "--min-effect -1 is not a latency"),
    ("--min-effect", "inf", "--min-effect inf is not a latency"),
])
def test_compare_refuses_rules_that_are_not_numbers_of_their_kind(
        flag: str, value: str, what: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", f"{flag}={value}", str(COMPARE / "aa-base"), str(COMPARE / "aa-new")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(f"perfdash: error: {what}; pass a")
    assert len(captured.err.strip().splitlines()) == 1


def test_compare_accepts_zero_and_ordinary_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", "--tolerance", "0", "--min-effect", "0", "--json",
                 str(COMPARE / "aa-base"), str(COMPARE / "aa-new")])
    assert code in (0, 1)
    assert json.loads(capsys.readouterr().out)["deltas"]


def test_history_announces_the_pool_baseline_auto_really_uses(tmp_path: Path) -> None:
    """15 steady runs, no change point: `auto` pools the newest AUTO_MAX_RUNS, and history says so."""
    for i in range(15):
        make_run(tmp_path, i, 30.0)
    pool = resolve_baseline("auto", tmp_path, "smoke", environment="demo")
    assert len(pool.runs) == AUTO_MAX_RUNS < 15
    run = ["history", "--results-dir", str(tmp_path)]
    done = run_perfdash([*run, "--json"], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["baseline_auto"] == [{"profile": "smoke", "environment": "demo",
                                      "runs": [r.name for r in pool.runs]}]
    done = run_perfdash(run, cwd=ROOT, env={**os.environ, "COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert f"--baseline auto for smoke in demo would pool {AUTO_MAX_RUNS} run(s): {pool.runs[0].name} … " \
           f"{pool.runs[-1].name} (the newest {AUTO_MAX_RUNS} of the 15 since the last change " \
           "point)" in " ".join(table.split())


@pytest.mark.parametrize("name", ["../../../../tmp/x", ".hidden", "a/b", "smoke test", "x\\y", ""])
def test_a_profile_name_that_is_not_plain_is_refused(name: str, tmp_path: Path) -> None:
    text = (ROOT / "profiles.toml").read_text()
    assert "[profiles.smoke]" in text
    (tmp_path / "profiles.toml").write_text(text.replace("[profiles.smoke]",
                                                         f"[profiles.{json.dumps(name)}]", 1))
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert f"the profile name {name!r} is not a plain name; rename it using only letters, digits" \
        in message
    assert message.startswith("profiles.toml line ")
    assert len(message.splitlines()) == 1


def test_a_profile_named_like_a_path_stops_the_cli_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    path = tmp_path / "profiles.toml"
    path.write_text(path.read_text().replace("[profiles.smoke]", '[profiles."../../../../tmp/x"]', 1))
    code = main(["run", "--profile", "../../../../tmp/x", "--env", "demo", "--headless",
                 "--project", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "is not a plain name" in err
    assert not list(tmp_path.rglob("k6-*"))


@pytest.mark.parametrize("name", ["smoke", "load-2", "v1.2_soak", "A"])
def test_plain_profile_names_still_load(name: str, tmp_path: Path) -> None:
    text = (ROOT / "profiles.toml").read_text()
    quoted = json.dumps(name)
    (tmp_path / "profiles.toml").write_text(text.replace("[profiles.smoke]", f"[profiles.{quoted}]", 1)
                                            .replace("[profiles.smoke.", f"[profiles.{quoted}."))
    assert name in load_settings(tmp_path).profiles


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow  # doctor runs k6 and node to check them
def test_a_database_error_names_the_environments_own_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://perf:pw-1234@127.0.0.1:{_closed_port()}/shop"
    [result] = check_database(Secret(url), "OTHER_VAR")
    assert result.status == "fail"
    assert result.fix.startswith("check OTHER_VAR (host, port")
    [missing] = check_database(None, "OTHER_VAR")
    assert missing.detail.startswith("OTHER_VAR is not set")
    assert missing.fix == "set OTHER_VAR in .env.performance"
    # through settings and `doctor`, with the variable named in profiles.toml
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    for key in [k for k in os.environ if k.startswith("PERF_")]:
        monkeypatch.delenv(key)
    (tmp_path / ".env.performance").write_text(
        f"PERF_STAGING_BASE_URL=http://127.0.0.1:{_closed_port()}\nPERF_STAGING_DATABASE_URL={url}\n")
    assert load_settings(tmp_path).environment("staging").database_url_env == \
        "PERF_STAGING_DATABASE_URL"
    main(["doctor", "--env", "staging", "--project", str(tmp_path)])
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "database reachable" in ln)
    assert "check PERF_STAGING_DATABASE_URL (host, port" in line
    assert "PERF_DATABASE_URL" not in out.replace("PERF_STAGING_DATABASE_URL", "")
    assert "pw-1234" not in out


@pytest.mark.parametrize("stored", [{"schema_version": 1}, {"schema_version": 1, "status": "pass"},
                                    {"schema_version": 1, "exit_code": None}])
def test_show_of_a_summary_without_a_verdict_says_it_is_incomplete(
        stored: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(stored))
    code = main(["show", "--headless", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 3
    assert "overall status: ?" not in captured.out
    assert captured.err == (f"perfdash: error: {tmp_path / 'summary.json'} is incomplete: it holds "
                            "no verdict and not what re-analysis needs (the configuration, start "
                            "and end); run the suite again.\n")


def test_show_of_a_stored_summary_with_its_verdict_still_shows_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((ROOT / "tests" / "data" / "smoke-pass" / "summary.json").read_text())
    del summary["configuration"]  # re-analysis cannot run; the stored verdict is still printed
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    code = main(["show", "--headless", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == summary["exit_code"]
    assert f"overall status: {summary['status'].upper()}" in out
