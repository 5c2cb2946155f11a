"""GITHUB_STEP_SUMMARY: `perfdash show --headless` (through `perfdash.cli.main`) appends the verdict,
the checks that did not pass, the diagnosis and the run directory to the file it names, after what an
earlier step wrote there, without a secret; a file it cannot write is a warning, not another exit code.

The run directory is a real demo run's (tests/data/smoke-fail: k6's p95 over a 0.001 ms limit), with
secrets planted in the problems the stored summary carries into `show`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from perfdash.analyze.step_summary import append_step_summary, step_summary_markdown
from perfdash.secret import Secret

from .conftest import ROOT
from .in_process import Finished, run_perfdash

FAIL_RUN = ROOT / "tests" / "data" / "smoke-fail"
PASS_RUN = ROOT / "tests" / "data" / "smoke-pass"
EARLIER = "## Build\n\nunit tests: 812 passed\n"
# The token reaches `show` only as the CI job's environment variable: it goes by value. The URL's
# password goes by pattern, whatever the settings say.
TOKEN = "Tk-planted-4242-zz"
URL_PASSWORD = "Pl4nted-url-pw"


def _project(tmp_path: Path) -> Path:
    """A project like the one the CI job checked out: its profiles.toml names the run's environment."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "profiles.toml").write_text(
        '[profiles.smoke]\ndescription = "the run\'s profile"\n[profiles.smoke.k6]\nscript = "smoke.js"\n\n'
        '[environments.demo]\nkind = "demo"\n')
    return project


def _run_dir(tmp_path: Path) -> Path:
    run = Path(shutil.copytree(FAIL_RUN, tmp_path / "project" / "results" / "perf" / "20261125T151234Z"))
    summary = json.loads((run / "summary.json").read_text())
    summary["problems"] = [
        {"what": f"the backend logged its settings: token {TOKEN}, "
                 f"database postgresql://perf:{URL_PASSWORD}@db.internal/shop",
         "fix": "log the settings without their secrets"}]
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def _show(run: Path, cwd: Path, step_summary: Path) -> Finished:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERF_", "GITHUB_"))}
    env |= {"PERF_API_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(step_summary)}
    return run_perfdash(["show", "--headless", str(run)], cwd=cwd, env=env)


def test_show_appends_the_verdict_after_an_earlier_step_without_a_secret(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = _run_dir(tmp_path)
    page = tmp_path / "step_summary.md"
    page.write_text(EARLIER)
    out = _show(run, project, page)
    assert out.returncode == 1, out.stderr  # the run failed; writing the page does not change that
    text = page.read_text()
    assert text.startswith(EARLIER)
    added = text[len(EARLIER):]
    assert "## ❌ FAIL — perfdash smoke on demo" in added
    assert "| ❌ fail | k6 http_req_duration p(95) | 35.8 ms | p(95)<0.001 |" in added
    assert "Missing index on orders" in added  # the diagnosis' first finding
    assert "Run directory: `results/perf/20261125T151234Z`" in added
    assert "the backend logged its settings" in added  # the problem is there, its secrets are not
    for secret in (TOKEN, URL_PASSWORD):
        assert secret not in text
    assert "perfdash: warning" not in out.stderr
    # a second step appends again: nothing of the first two is lost
    assert _show(run, project, page).returncode == 1
    assert page.read_text() == text + added


@pytest.mark.parametrize("where", ["missing-dir/summary.md", "a-directory"])
def test_an_unwritable_step_summary_is_a_warning_and_the_verdict_stands(tmp_path: Path, where: str) -> None:
    project = _project(tmp_path)
    run = _run_dir(tmp_path)
    (tmp_path / "a-directory").mkdir()
    out = _show(run, project, tmp_path / where)
    assert out.returncode == 1
    assert "overall status: FAIL" in out.stdout
    warnings = [ln for ln in out.stderr.splitlines() if ln.startswith("perfdash: warning:")]
    assert len(warnings) == 1, out.stderr
    assert "GITHUB_STEP_SUMMARY" in warnings[0]
    assert str(tmp_path / where) in warnings[0]
    assert "Traceback" not in out.stderr


def test_nothing_is_written_without_the_variable(tmp_path: Path) -> None:
    page = tmp_path / "step_summary.md"
    summary = json.loads((FAIL_RUN / "summary.json").read_text())
    assert append_step_summary(summary, FAIL_RUN, environ={}) is None
    assert append_step_summary(summary, FAIL_RUN, environ={"GITHUB_STEP_SUMMARY": "  "}) is None
    assert not page.exists()


def test_a_passing_run_lists_no_check_and_every_secret_form_goes(tmp_path: Path) -> None:
    summary = json.loads((PASS_RUN / "summary.json").read_text())
    assert summary["status"] == "pass"
    text = step_summary_markdown(summary, PASS_RUN)
    assert "## ✅ PASS" in text
    assert "did not pass" not in text
    secret = 'p@ss"w/rd%1'
    summary["problems"] = [{"what": f"echoed {secret} and {json.dumps(secret)} and p%40ss%22w%2Frd%251"}]
    page = tmp_path / "page.md"
    assert append_step_summary(summary, PASS_RUN, [Secret(secret)],
                               environ={"GITHUB_STEP_SUMMARY": str(page)}) is None
    written = page.read_text()
    assert "echoed ***" in written
    assert "p@ss" not in written
    assert "p%40ss" not in written


def test_a_multi_line_problem_stays_one_list_item() -> None:
    summary = {"status": "incomplete", "checks": [],
               "problems": [{"what": "k6 said:\n# not a heading\n| nor | a table |", "fix": "a\nb"}]}
    text = step_summary_markdown(summary, Path("results/perf/x"))
    assert "- k6 said: # not a heading | nor | a table | — fix: a b" in text.splitlines()


def test_the_diagnosis_shows_its_first_findings_and_counts_the_rest() -> None:
    findings = [{"id": f"rule-{n}", "title": f"finding {n}", "impact": 0.1, "confidence": "high",
                 "fix": f"fix {n}", "evidence": [{"text": f"evidence {n}", "source": "x.json"}]}
                for n in range(1, 8)]
    text = step_summary_markdown({"status": "fail", "checks": [], "diagnosis": {"findings": findings}},
                                 Path("results/perf/x"))
    assert "1. **finding 1** — impact 10%, confidence high" in text
    assert "   - fix: fix 5" in text
    assert "finding 6" not in text
    assert "2 more in the run's summary.md." in text
    assert "evidence 1" not in text  # the evidence is summary.md's
