"""perfdash's diagnosis of the lab: installed from its wheel, run in a copy of tests/lab, once against
the `all` instance and once against the `clean` one, with the lab's own profiles and scripts.

What each planted problem must be diagnosed as is fixed by the ground truth (test_lab_truth.py):
on `all` every problem has its finding, on `clean` none of the database or pool ones appears.
Each expectation is a test of its own, so a failure names the one finding that is wrong.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..installed_perfdash import run_perfdash
from .conftest import LabInstance, ProxyInstance

pytestmark = pytest.mark.e2e

PROFILE = "quick"
ENVIRONMENT = "lab"
# The URL tests/lab/profiles.toml is written for; the copy of each instance gets its own.
PROFILE_URL = "http://127.0.0.1:8300"
CONFIDENCE = ("high", "medium", "low")
CLEAN_ABSENT = ("lock-contention", "pool-saturation", "n-plus-one", "missing-index")


@dataclass
class PerfdashRun:
    lab: LabInstance
    proc: subprocess.CompletedProcess[str]
    run_dir: Path | None

    @property
    def output(self) -> str:
        return f"{self.proc.stdout[-3000:]}\n{self.proc.stderr[-3000:]}"

    @property
    def summary(self) -> dict[str, Any]:
        assert self.run_dir is not None, f"perfdash left no run directory:\n{self.output}"
        path = self.run_dir / "summary.json"
        assert path.is_file(), f"no summary.json in {self.run_dir}:\n{self.output}"
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    @property
    def diagnosis(self) -> dict[str, Any]:
        summary = self.summary
        assert "diagnosis" in summary, (
            f"summary.json of the {self.lab.pathologies} run has no `diagnosis` "
            f"(keys: {sorted(summary)})")
        diagnosis: dict[str, Any] = summary["diagnosis"]
        return diagnosis

    @property
    def findings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.diagnosis["findings"]
        return found

    def with_id(self, finding_id: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("id") == finding_id]

    def ids(self) -> list[str]:
        return [str(f.get("id")) for f in self.findings]


def _point_copy_at_instance(lab: LabInstance) -> None:
    """The copy's profiles.toml aims at this instance's port; its .env.performance names its database."""
    profiles = lab.root / "profiles.toml"
    text = profiles.read_text()
    if PROFILE_URL in text:
        profiles.write_text(text.replace(PROFILE_URL, lab.base_url))
    assert lab.base_url in profiles.read_text()
    (lab.root / ".env.performance").write_text(f"PERF_DATABASE_URL={lab.database_url.reveal()}\n")


def _run(user_venv: Path, lab: LabInstance, results: Path, profile: str = PROFILE) -> PerfdashRun:
    _point_copy_at_instance(lab)
    proc = run_perfdash(user_venv, ["run", "--headless", "--profile", profile, "--env", ENVIRONMENT,
                                    "--results-dir", str(results)], cwd=lab.root, timeout=240)
    dirs = sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    return PerfdashRun(lab, proc, dirs[-1] if dirs else None)


@pytest.fixture(scope="module")
def run_all(user_venv: Path, lab_all: LabInstance, tmp_path_factory: pytest.TempPathFactory
            ) -> PerfdashRun:
    return _run(user_venv, lab_all, tmp_path_factory.mktemp("results-all"))


@pytest.fixture(scope="module")
def run_cpu(user_venv: Path, lab_cpu: LabInstance, tmp_path_factory: pytest.TempPathFactory
            ) -> PerfdashRun:
    return _run(user_venv, lab_cpu, tmp_path_factory.mktemp("results-cpu"), "cpu-quick")


@pytest.fixture(scope="module")
def run_clean(user_venv: Path, lab_clean: LabInstance, tmp_path_factory: pytest.TempPathFactory
              ) -> PerfdashRun:
    return _run(user_venv, lab_clean, tmp_path_factory.mktemp("results-clean"))


def _texts(finding: dict[str, Any]) -> str:
    """The title and every evidence text of a finding, as one string to search."""
    return " | ".join([str(finding.get("title", ""))]
                      + [str(e.get("text", "")) for e in finding.get("evidence", [])])


# ------------------------------------------------------------------------------------- the harness

def test_all_run_fails_on_the_labs_own_thresholds(run_all: PerfdashRun) -> None:
    """Broken backend, healthy-lab thresholds: the run ends as a failure with its verdict written."""
    summary = run_all.summary
    assert run_all.proc.returncode == 1, run_all.output
    assert summary["status"] == "fail"
    assert summary["exit_code"] == 1
    assert summary["tools"]["k6"]["returncode"] == 99


def test_clean_run_passes(run_clean: PerfdashRun) -> None:
    summary = run_clean.summary
    assert run_clean.proc.returncode == 0, run_clean.output
    assert summary["status"] == "pass"


@pytest.mark.parametrize("which", ["all", "clean"])
def test_perfdash_counted_the_access_log(which: str, run_all: PerfdashRun, run_clean: PerfdashRun) -> None:
    """The environment's app_log is the lab's access log: perfdash has server time per route."""
    run = run_all if which == "all" else run_clean
    assert run.run_dir is not None, run.output
    counted = json.loads((run.run_dir / "applog-endpoints.json").read_text())
    assert counted["format"] == "combined"
    assert {"/api/orders/{}", "/api/quote", "/api/report"} <= set(counted["routes"])


# ------------------------------------------------------------------------------------- the schema

@pytest.mark.parametrize("which", ["all", "clean"])
def test_diagnosis_follows_the_schema(which: str, run_all: PerfdashRun, run_clean: PerfdashRun) -> None:
    run = run_all if which == "all" else run_clean
    diagnosis = run.diagnosis
    assert isinstance(diagnosis.get("findings"), list)
    assert isinstance(diagnosis.get("not_measured"), list)
    for f in diagnosis["findings"]:
        assert isinstance(f["id"], str), f
        assert isinstance(f["title"], str), f
        assert isinstance(f["impact"], int | float), f
        assert f["confidence"] in CONFIDENCE, f
        assert isinstance(f["cause"], str), f
        assert isinstance(f["fix"], str), f
        assert isinstance(f["links"], list), f
        assert f["endpoint"] is None or isinstance(f["endpoint"], str), f
        assert f["statement"] is None or isinstance(f["statement"], str), f
        assert f["evidence"], f"a finding without evidence: {f['id']}"
        for e in f["evidence"]:
            assert isinstance(e["text"], str), e
            assert isinstance(e["source"], str), e
            assert e["from_s"] is None or isinstance(e["from_s"], int | float), e
            assert e["to_s"] is None or isinstance(e["to_s"], int | float), e
    for n in diagnosis["not_measured"]:
        assert isinstance(n["rule"], str), n
        assert isinstance(n["needs"], str), n


# ------------------------------------------------------------------------------------- all

def test_all_lock_contention_names_the_for_update(run_all: PerfdashRun) -> None:
    found = run_all.with_id("lock-contention")
    assert found, f"no lock-contention finding; ids: {run_all.ids()}"
    assert any("FOR UPDATE" in (f.get("statement") or "") for f in found), found


def test_all_pool_saturation_names_four_connections(run_all: PerfdashRun) -> None:
    found = run_all.with_id("pool-saturation")
    assert found, f"no pool-saturation finding; ids: {run_all.ids()}"
    assert any(re.search(r"\b4\b[^|]*connection", _texts(f)) for f in found), [_texts(f) for f in found]


def test_all_n_plus_one_on_the_orders_route(run_all: PerfdashRun) -> None:
    found = run_all.with_id("n-plus-one")
    assert found, f"no n-plus-one finding; ids: {run_all.ids()}"
    on_orders = [f for f in found if "/api/orders" in (f.get("endpoint") or "")]
    assert on_orders, [f.get("endpoint") for f in found]
    assert any(re.search(r"\b50\b", _texts(f)) for f in on_orders), [_texts(f) for f in on_orders]


def test_all_missing_index_on_lower_memo(run_all: PerfdashRun) -> None:
    found = run_all.with_id("missing-index")
    assert found, f"no missing-index finding; ids: {run_all.ids()}"
    assert any("lower(memo)" in f.get("fix", "") for f in found), [f.get("fix") for f in found]


def test_all_missing_index_on_account_id_then_created_at(run_all: PerfdashRun) -> None:
    found = run_all.with_id("missing-index")
    assert found, f"no missing-index finding; ids: {run_all.ids()}"
    assert any(re.search(r"account_id\W+created_at", f.get("fix", "")) for f in found), (
        [f.get("fix") for f in found])


def test_cpu_bound_app_on_the_report(run_cpu: PerfdashRun) -> None:
    found = run_cpu.with_id("cpu-bound-app")
    assert found, f"no cpu-bound-app finding; ids: {run_cpu.ids()}"
    assert any("/api/report" in (f.get("endpoint") or "") for f in found), [f.get("endpoint") for f in found]
    # only the CPU is wrong in this instance: nothing is blamed on the database
    assert not {"lock-contention", "pool-saturation", "n-plus-one", "missing-index"} & set(run_cpu.ids())


def test_all_endpoint_errors_on_the_quote(run_all: PerfdashRun) -> None:
    found = run_all.with_id("endpoint-errors")
    assert found, f"no endpoint-errors finding; ids: {run_all.ids()}"
    assert any("/api/quote" in (f.get("endpoint") or "") for f in found), [f.get("endpoint") for f in found]


# ------------------------------------------------------------------------------------- clean

def test_clean_has_no_finding_at_all(run_clean: PerfdashRun) -> None:
    assert run_clean.findings == [], [f["title"] for f in run_clean.findings]


@pytest.mark.parametrize("finding_id", CLEAN_ABSENT)
def test_clean_has_no_finding(run_clean: PerfdashRun, finding_id: str) -> None:
    found = run_clean.with_id(finding_id)
    assert found == [], f"{finding_id} on the clean lab: {[f.get('title') for f in found]}"


# ------------------------------------------------------------------------------------- the catalogue

@pytest.fixture(scope="module")
def run_catalogue(user_venv: Path, lab_catalogue: LabInstance, tmp_path_factory: pytest.TempPathFactory
                  ) -> PerfdashRun:
    return _run(user_venv, lab_catalogue, tmp_path_factory.mktemp("results-catalogue"), "catalogue")


@pytest.fixture(scope="module")
def run_catalogue_clean(user_venv: Path, lab_clean: LabInstance,
                        tmp_path_factory: pytest.TempPathFactory) -> PerfdashRun:
    return _run(user_venv, lab_clean, tmp_path_factory.mktemp("results-catalogue-clean"), "catalogue")


def test_catalogue_deadlocks(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("deadlocks")
    assert found, f"no deadlocks finding; ids: {run_catalogue.ids()}"
    assert "40P01" in found[0]["fix"] or "40P01" in found[0]["title"]


def test_catalogue_sort_spilled_to_disk(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("disk-spill")
    assert found, f"no disk-spill finding; ids: {run_catalogue.ids()}"
    assert "GROUP BY account_id" in (found[0].get("statement") or ""), found[0]
    assert "work_mem" in found[0]["fix"]


def test_catalogue_connection_per_request(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("connection-churn")
    assert found, f"no connection-churn finding; ids: {run_catalogue.ids()}"
    assert found[0].get("endpoint") == "/api/ping-db", found[0]


def test_catalogue_memory_growth(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("memory-growth")
    assert found, f"no memory-growth finding; ids: {run_catalogue.ids()}"


def test_catalogue_rate_limit_is_not_a_failure(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("throttled")
    assert found, f"no throttled finding; ids: {run_catalogue.ids()}"
    assert found[0].get("endpoint") == "/api/suggest", found[0]
    assert not any(f.get("endpoint") == "/api/suggest" for f in run_catalogue.with_id("endpoint-errors"))


def test_catalogue_slow_dependency_on_the_rates(run_catalogue: PerfdashRun) -> None:
    found = run_catalogue.with_id("slow-dependency")
    assert found, f"no slow-dependency finding; ids: {run_catalogue.ids()}"
    assert [f.get("endpoint") for f in found] == ["/api/rates"], [f.get("title") for f in found]


def test_catalogue_routes_on_the_clean_lab_have_no_finding(run_catalogue_clean: PerfdashRun) -> None:
    assert run_catalogue_clean.proc.returncode == 0, run_catalogue_clean.output
    assert run_catalogue_clean.findings == [], [f["title"] for f in run_catalogue_clean.findings]


# ------------------------------------------------------------------------------------- reverse proxy

PROXY_URL = "http://127.0.0.1:8400"  # what tests/lab/profiles.toml's proxy profile is written for


@pytest.fixture(scope="module")
def run_proxy(user_venv: Path, lab_proxy: ProxyInstance, tmp_path_factory: pytest.TempPathFactory
              ) -> PerfdashRun:
    """The mix through nginx in front of the clean lab, read from nginx's log (environment lab-proxy)."""
    profiles = lab_proxy.root / "profiles.toml"
    profiles.write_text(profiles.read_text().replace(PROXY_URL, lab_proxy.base_url))
    (lab_proxy.root / ".env.performance").write_text(
        f"PERF_DATABASE_URL={lab_proxy.backend.database_url.reveal()}\n")
    results = tmp_path_factory.mktemp("results-proxy")
    proc = run_perfdash(user_venv, ["run", "--headless", "--profile", "proxy-quick", "--env", "lab-proxy",
                                    "--results-dir", str(results)], cwd=lab_proxy.root, timeout=240)
    dirs = sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    return PerfdashRun(lab_proxy.backend, proc, dirs[-1] if dirs else None)


def test_proxy_time_in_nginx_is_named_on_the_account_reads(run_proxy: PerfdashRun) -> None:
    found = [f for f in run_proxy.with_id("reverse-proxy") if f.get("endpoint") == "/api/accounts/{}"]
    assert found, f"no reverse-proxy finding on the account reads: {run_proxy.ids()}\n{run_proxy.output}"
    text = _texts(found[0])
    assert "upstream time" in text, text
    assert "request time" in text, text
    assert "limit_req" in found[0]["fix"]
    stage = next(r["stage"] for r in run_proxy.diagnosis["time_by_endpoint"]
                 if r["endpoint"] == "/api/accounts/{}")
    assert "reverse proxy" in stage, stage


def test_proxy_refusals_are_the_proxys_not_the_backends(run_proxy: PerfdashRun) -> None:
    refused = [f for f in run_proxy.with_id("proxy-refused") if f.get("endpoint") == "/api/quote"]
    assert refused, f"no proxy-refused finding on the quote: {run_proxy.ids()}\n{run_proxy.output}"
    assert not [f for f in run_proxy.with_id("endpoint-errors") if f.get("endpoint") == "/api/quote"], (
        "the clean backend never failed a quote: its 503s are nginx's")


def test_behind_the_proxy_the_healthy_backend_has_no_finding_of_its_own(run_proxy: PerfdashRun) -> None:
    """The backend is the clean lab: a proxy's queue must not read as a slow dependency, a pool or
    the database, and the verdict is k6's (its 503s cross the error-rate threshold)."""
    proxy_ids = {"reverse-proxy", "proxy-refused"}
    others = [f["title"] for f in run_proxy.findings if f["id"] not in proxy_ids]
    assert others == [], others
    k6_exit = run_proxy.summary["tools"]["k6"]["returncode"]
    assert k6_exit in (0, 99), run_proxy.output
    assert run_proxy.summary["status"] == ("fail" if k6_exit == 99 else "pass"), run_proxy.output
