"""Hostile settings and run directories: every one is a sentence naming the file, the line and the
key (exit 2), never a traceback, a hang or a silently dropped secret; and capacity warnings for loads
the machine cannot carry. Settings errors, show and compare go through the real entry point
`perfdash.cli.main`; FIFOs are real, and `doctor` runs as the console script.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perfdash.artifacts import read_json
from perfdash.cli import main
from perfdash.run.capacity import capacity_warnings
from perfdash.settings import K6Stage, Profile, load_settings

from .conftest import ROOT

PERFDASH = str(Path(sys.executable).parent / "perfdash")
DATA = ROOT / "tests" / "data"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    for key in [k for k in os.environ if k.startswith("PERF_")]:
        monkeypatch.delenv(key)
    return tmp_path


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "profiles.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _key_line(project: Path, dotted: str) -> int:
    """The line of `key =` under its `[table]` header, as `profiles.smoke.k6.stages` names it."""
    lines = (project / "profiles.toml").read_text().splitlines()
    for cut in range(dotted.count("."), 0, -1):
        table, key = dotted.split(".")[:cut], ".".join(dotted.split(".")[cut:])
        header = f"[{'.'.join(table)}]"
        if header in lines:
            start = lines.index(header)
            return next(i for i, ln in enumerate(lines[start:], start + 1)
                        if ln.split("=")[0].strip().strip('"') == key)
    raise AssertionError(dotted)


def _run(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["run", "--profile", "smoke", "--env", "local", "--headless", "--project",
                 str(project)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one sentence
    results = project / "results" / "perf"
    assert not results.exists() or not any(results.iterdir())  # no run folder without a summary
    return lines[0]


SMOKE_PHASE = 'phases = [{ duration = 15, arrivalRate = 2, name = "smoke" }]'
SMOKE_STAGE = '{ duration = "10s", target = 3 }'


@pytest.mark.parametrize(("old", "new", "key", "said"), [
    # 9: values of the wrong type
    (SMOKE_PHASE, 'phases = [{ duration = "abc", arrivalRate = 2 }]',
     "profiles.smoke.artillery.phases", "duration = 'abc'"),
    (SMOKE_STAGE, '{ duration = "10s", target = "lots" }', "profiles.smoke.k6.stages",
     "target 'lots'"),
    # 10: values of the right type that no tool accepts
    (SMOKE_PHASE, "phases = [{ duration = 0, arrivalRate = 2 }]",
     "profiles.smoke.artillery.phases", "duration = 0"),
    (SMOKE_PHASE, "phases = [{ duration = -5, arrivalRate = 2 }]",
     "profiles.smoke.artillery.phases", "duration = -5"),
    (SMOKE_PHASE, "phases = [{ duration = 10, arrivalRate = nan }]",
     "profiles.smoke.artillery.phases", "arrivalRate = nan"),
    (SMOKE_STAGE, '{ duration = "10s", target = -3 }', "profiles.smoke.k6.stages", "target -3"),
    ('"checks" = ["rate>=0.99"]', '"http.response_time" = ["p(95)<500"]',
     "profiles.smoke.thresholds.k6.http.response_time", "is not a k6 metric name"),
    ('"checks" = ["rate>=0.99"]', '"checks" = ["p95<500"]',
     "profiles.smoke.thresholds.k6.checks", "k6 has no statistic 'p95'"),
    ('\n"vusers.failed" = ["count==0"]', '\n"vusers.failed" = ["avg<3"]',
     "profiles.smoke.thresholds.artillery.vusers.failed", "Artillery has no statistic 'avg'"),
    ('\n"vusers.failed" = ["count==0"]', '\n"http_req_duration" = ["p95<3"]',
     "profiles.smoke.thresholds.artillery.http_req_duration", "is a k6 metric"),
])
def test_bad_profile_values_are_one_sentence_with_line_and_key(
        project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str,
        said: str) -> None:
    _edit(project, old, new)
    line = _key_line(project, key)
    message = _run(project, capsys)
    assert f"profiles.toml line {line} ({key})" in message
    assert said in message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_seed_scale_not_finite(project: Path, capsys: pytest.CaptureFixture[str],
                               value: str) -> None:
    _edit(project, "# seed_scale = 100", f"seed_scale = {value}")
    line = _key_line(project, "environments.local.seed_scale")
    message = _run(project, capsys)
    assert f"profiles.toml line {line} (environments.local.seed_scale)" in message
    assert "finite number" in message


def test_profiles_toml_not_utf8(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "profiles.toml"
    data = path.read_bytes().replace(b'description = "A few users', b'description = "A f\xe9w users', 1)
    path.write_bytes(data)
    line = data[:data.index(b"\xe9")].count(b"\n") + 1
    message = _run(project, capsys)
    assert f"profiles.toml line {line} (key description) is not UTF-8" in message
    assert "save the file as UTF-8" in message


def test_env_file_not_utf8(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".env.performance").write_bytes(b"PERF_BASE_URL=http://127.0.0.1:9\n"
                                               b"PERF_API_TOKEN=t\xf6ken\n")
    message = _run(project, capsys)
    assert ".env.performance line 2 (key PERF_API_TOKEN) is not UTF-8" in message


@pytest.mark.parametrize(("content", "line", "lost"), [
    ("PERF_BASE_URL=http://127.0.0.1:9\nthis is garbage\nPERF_API_TOKEN=abc\n", 2,
     "it sets no variable"),
    ('PERF_BASE_URL=http://127.0.0.1:9\nPERF_API_TOKEN="abc\nPERF_DATABASE_URL=postgres://h/d\n', 2,
     "so PERF_API_TOKEN is not set"),
])
def test_env_file_bad_lines_are_named(project: Path, content: str, line: int, lost: str) -> None:
    (project / ".env.performance").write_text(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    done = subprocess.run([PERFDASH, "doctor", "--env", "local", "--project", str(project)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"perfdash: error: .env.performance line {line} cannot be read ({lost}); "
        + ("close the quote on that line." if "PERF_API" in lost else
           "write it as NAME=value, or start it with # to make it a comment.")]
    assert "abc" not in done.stderr  # the line's text may be a secret: never echoed
    assert "python-dotenv" not in done.stderr


def test_env_file_good_syntax_still_reads(project: Path) -> None:
    (project / ".env.performance").write_text(
        "# comment\n\nexport PERF_BASE_URL='http://127.0.0.1:9/'\n"
        'PERF_API_TOKEN="tok en"  # trailing\nPERF_DATABASE_URL=postgres://u@h/${PERF_DB}\n'
        "PERF_DB=x\n")
    env = load_settings(project).environment("local")
    assert env.base_url == "http://127.0.0.1:9"
    assert env.api_token is not None
    assert env.api_token.reveal() == "tok en"


# ------------------------------------------------------------------------------------ capacity


def _profile(vus: int = 0, phases: tuple[dict[str, float], ...] = ()) -> Profile:
    return Profile("big", "", "parallel", Path("k6.js") if vus else None,
                   Path("a.yml") if phases else None,
                   (K6Stage("10s", vus),) if vus else (), phases, ())


def test_capacity_warns_about_200000_vus_on_two_cores() -> None:
    warnings = capacity_warnings(_profile(vus=200_000), cores=2, memory_bytes=4 * 1024 ** 3)
    assert [w.name for w in warnings] == ["k6 load fits this machine"] * 2
    assert "200,000 k6 VUs need about 585.9 GB" in warnings[0].detail
    assert "at most 682 VUs" in warnings[0].fix
    assert "more than 2,000 per core" in warnings[1].detail


def test_capacity_is_quiet_for_the_shipped_profiles_on_a_small_machine() -> None:
    settings = load_settings(ROOT)
    for name in ("smoke", "load"):
        assert capacity_warnings(settings.profile(name), cores=2, memory_bytes=2 * 1024 ** 3) == []


def test_capacity_warns_about_artillery_arrival_rates() -> None:
    warnings = capacity_warnings(_profile(phases=({"duration": 600, "arrivalRate": 2000},)),
                                 cores=64, memory_bytes=8 * 1024 ** 3)
    assert [w.name for w in warnings] == ["Artillery load fits this machine"] * 2
    assert "2,000 new Artillery users per second" in warnings[0].detail
    assert "60,000 concurrent Artillery users" in warnings[1].detail
    capped = _profile(phases=({"duration": 600, "arrivalRate": 400, "maxVusers": 100},))
    assert capacity_warnings(capped, cores=1, memory_bytes=1024 ** 3) == []


# ------------------------------------------------------------------------------ compare / show


def _copy_run(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(DATA / "smoke-pass", tmp_path / name))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`perfdash ARGS` through the console script's entry point, in this process: a fresh
    interpreter per call spent over a second importing SciPy for compare, and the exit code and
    the two streams are the same here. A hang is caught by the tests' own timeouts."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["perfdash", *args], code, out.getvalue(), err.getvalue())


def test_compare_refuses_an_empty_directory_in_one_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _cli("compare", str(DATA / "smoke-pass"), str(empty))
    assert done.returncode == 2
    assert done.stderr == (f"perfdash: error: {empty} cannot be compared: the directory is empty; "
                           "pass two results/perf/<timestamp> directories of finished runs.\n")


def test_compare_refuses_a_truncated_summary(tmp_path: Path) -> None:
    new = _copy_run(tmp_path, "new")
    text = (new / "summary.json").read_text()
    (new / "summary.json").write_text(text[:len(text) // 2])
    done = _cli("compare", str(DATA / "smoke-pass"), str(new))
    assert done.returncode == 2
    assert "summary.json is not valid JSON" in done.stderr
    assert done.stderr.count("pass two") == 1
    assert ".;" not in done.stderr
    missing = _cli("compare", str(DATA / "smoke-pass"), str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.count("pass two") == 1
    assert ".;" not in missing.stderr


def test_compare_warns_when_profiles_or_environments_differ(tmp_path: Path) -> None:
    new = _copy_run(tmp_path, "new")
    summary = json.loads((new / "summary.json").read_text())
    summary.update(profile="load", environment="staging")
    (new / "summary.json").write_text(json.dumps(summary))
    done = _cli("compare", str(DATA / "smoke-pass"), str(new))
    assert "perfdash: warning: the runs used different profiles (smoke → load), so the comparison " \
           "may not mean much" in done.stderr
    assert "different environments" in done.stderr
    md = _cli("compare", "--markdown", str(DATA / "smoke-pass"), str(new))
    assert "- **Warning**: the runs used different profiles" in md.stdout


def test_show_refuses_an_unknown_schema_version(tmp_path: Path) -> None:
    run = _copy_run(tmp_path, "run")
    summary = json.loads((run / "summary.json").read_text())
    summary["schema_version"] = 99
    (run / "summary.json").write_text(json.dumps(summary))
    done = _cli("show", "--headless", str(run))
    assert done.returncode == 2
    assert "summary.json has schema_version 99, which this perfdash (schema 1) cannot read" \
        in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(30)  # a hang on the FIFO fails here
def test_a_fifo_in_place_of_summary_json_is_refused_at_once(tmp_path: Path) -> None:
    run = _copy_run(tmp_path, "run")
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")
    assert read_json(run / "summary.json") == (
        None, "summary.json cannot be read: it is a FIFO, not a regular file")
    done = _cli("show", "--headless", str(run))
    assert done.returncode == 2
    assert "summary.json cannot be read: it is a FIFO" in done.stderr
    compared = _cli("compare", str(DATA / "smoke-pass"), str(run))
    assert compared.returncode == 2


@pytest.mark.timeout(30)  # a hang on the FIFO fails here
@pytest.mark.parametrize("artifact", ["metrics.csv", "k6-smoke.json", "artillery-smoke.json",
                                      "query-analysis.json"])
def test_a_fifo_in_place_of_an_artifact_does_not_hang_show_or_compare(tmp_path: Path,
                                                                       artifact: str) -> None:
    run = _copy_run(tmp_path, "run")
    (run / artifact).unlink()
    os.mkfifo(run / artifact)
    done = _cli("show", "--json", str(run))
    assert "Traceback" not in done.stderr
    assert f"{artifact} cannot be read: it is a FIFO" in done.stdout
    compared = _cli("compare", "--json", str(DATA / "smoke-pass"), str(run))
    assert compared.returncode in (0, 1), compared.stderr
    assert "Traceback" not in compared.stderr
