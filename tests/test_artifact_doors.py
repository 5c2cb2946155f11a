"""One door per artifact: only perfdash.artifacts names a run's files and decodes them.

A module elsewhere that spells "summary.json" (or any file name RunPaths gives a role) opens its own
door to that file: its own parser, its own idea of a damaged file, a rename that misses it. The walk
below fails on such a string literal, and on a JSON file read outside the artifacts package other
than the load tools' own reports (each tool names those in `LoadTool.artifacts`). Live streams
(the followers tail events.ndjson line by line as the run appends it) decode lines, not files, and
are not reads of an artifact.

The readers themselves are checked too: each raises its own ArtifactError subclass whose message is
one sentence, and a summary is parsed once per version of the file.
"""

from __future__ import annotations

import ast
import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import perfdash
from perfdash import artifacts
from perfdash.artifacts import (
    AppLogEndpointsError,
    ArtifactError,
    EventsError,
    HostsError,
    MetricsError,
    QueryAnalysisError,
    RunPaths,
    SummaryError,
    artifact_names,
    load_applog_endpoints,
    load_event_records,
    load_hosts,
    load_metrics,
    load_query_analysis,
    load_summary,
)
from perfdash.artifacts import paths as paths_module
from perfdash.artifacts import summary as summary_module

PACKAGE = Path(perfdash.__file__).parent
DOORS = PACKAGE / "artifacts"
# The load tools read their own reports (k6's summary export, Artillery's report) through
# perfdash.artifacts.read_json: the tool names those files, RunPaths does not.
TOOL_READERS = PACKAGE / "tools"
# JSON files that are no run's: the demo's PostgreSQL clusters are listed in the user's state
# directory, so a cluster a killed run left behind is found by the next one.
NOT_RUN_FILES = {PACKAGE / "demo" / "stale.py"}
JSON_FILE_READS = {"read_json", "read_json_member", "load"}  # json.load takes an open file
FILE_TEXT_READS = {"read_text", "read_regular_text", "read_bytes"}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if DOORS not in path.parents:
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def spelled_names(tree: ast.AST, names: frozenset[str]) -> list[tuple[int, str]]:
    """(line, name) of every string literal in `tree` that is exactly an artifact's file name."""
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names]


def _reads_a_file(node: ast.expr) -> bool:
    """`x.read_text(...)`, `read_regular_text(...)` and the like: a whole file's text."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in FILE_TEXT_READS


def json_file_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, call) of every `read_json(...)`, `read_json_member(...)`, `json.load(...)` or
    `json.loads(<a file's text>)`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            name, on_json = func.id, False
        elif isinstance(func, ast.Attribute):
            name, on_json = func.attr, isinstance(func.value, ast.Name) and func.value.id == "json"
        else:
            continue
        if (on_json and (name == "load" or (name == "loads" and node.args and _reads_a_file(node.args[0])))) \
                or (not on_json and name in JSON_FILE_READS - {"load"}):
            found.append((node.lineno, ast.unparse(func)))
    return found


def test_the_names_come_from_runpaths() -> None:
    """Every file-name constant of perfdash.artifacts.paths is a role of RunPaths (and so checked
    below), and the names are the ones a run directory has always had."""
    constants = {v for k, v in vars(paths_module).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(artifact_names())
    assert {"summary.json", "metrics.csv", "query-analysis.json", "hosts.json", "events.ndjson",
            "db-activity.ndjson", "applog-endpoints.json", "preflight.json"} <= artifact_names()


def test_no_module_outside_the_artifacts_package_spells_an_artifact_name() -> None:
    names = artifact_names()
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {name!r}"
                 for path, tree in _modules() for line, name in spelled_names(tree, names)]
    assert not offenders, ("these modules spell an artifact's file name; take it from RunPaths "
                           "(perfdash.artifacts.paths) instead:\n" + "\n".join(offenders))


def test_no_module_outside_the_artifacts_package_decodes_a_json_file() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {call}"
                 for path, tree in _modules()
                 if TOOL_READERS not in path.parents and path not in NOT_RUN_FILES
                 for line, call in json_file_reads(tree)]
    assert not offenders, ("these modules read a JSON file themselves; add or use a reader in "
                           "perfdash/artifacts/ instead:\n" + "\n".join(offenders))


def test_the_bottom_contract_forbids_every_other_module() -> None:
    """A module added to perfdash later is forbidden to the artifacts package too: the
    import-linter contract lists every top-level module but the package itself and shape.py."""
    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["id"] == "artifacts-at-the-bottom")
    top = {f"perfdash.{p.stem}" for p in PACKAGE.iterdir()
           if (p.suffix == ".py" or (p / "__init__.py").is_file()) and not p.stem.startswith("__")}
    assert set(contract["forbidden_modules"]) == top - {"perfdash.artifacts", "perfdash.shape"}


def test_the_walk_can_fail() -> None:
    """The checks find what they look for, so their passing above means something."""
    tree = ast.parse('x = root / "summary.json"\ny = f"{root}/metrics.csv"\n'
                     'z = "the summary.json of the run"\ndata = json.load(f)\nread_json(p)\n'
                     'json.loads(line)\njson.loads(path.read_text())\n')
    assert spelled_names(tree, artifact_names()) == [(1, "summary.json")]
    assert json_file_reads(tree) == [(4, "json.load"), (5, "read_json"), (7, "json.loads")]


def _write_summary(run: Path, **fields: object) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    data = {"schema_version": 1, "run_id": run.name, "status": "pass", "profile": "smoke",
            "environment": "local", "checks": [], **fields}
    path = RunPaths(run).summary
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _one_sentence(exc: ArtifactError, name: str) -> None:
    text = str(exc)
    assert name in text, text
    assert "\n" not in text, text
    assert ". " not in text, text


@pytest.mark.parametrize(("load", "error", "name"), [
    (load_summary, SummaryError, "summary.json"),
    (load_query_analysis, QueryAnalysisError, "query-analysis.json"),
    (load_metrics, MetricsError, "metrics.csv"),
    (load_hosts, HostsError, "hosts.json"),
    (load_applog_endpoints, AppLogEndpointsError, "applog-endpoints.json"),
    (load_event_records, EventsError, "events.ndjson"),
])
def test_a_missing_artifact_is_one_sentence_of_its_own_error(tmp_path: Path, load: object,
                                                             error: type[ArtifactError], name: str) -> None:
    assert callable(load)
    with pytest.raises(error) as raised:
        load(RunPaths(tmp_path))
    assert isinstance(raised.value, ArtifactError)
    assert raised.value.missing
    _one_sentence(raised.value, name)


@pytest.mark.parametrize(("file", "text", "load", "error", "says"), [
    ("summary.json", '{"schema_version": 1, "checks": "none"}', load_summary, SummaryError,
     "summary.json's checks is a string, not a list"),
    ("summary.json", '{"schema_version": 7}', load_summary, SummaryError, "schema_version 7"),
    ("summary.json", '{"schema_version": 1, "checks": [', load_summary, SummaryError,
     "summary.json is not valid JSON"),
    ("query-analysis.json", '{"slow_queries": {}}', load_query_analysis, QueryAnalysisError,
     "query-analysis.json's slow_queries is an object, not a list"),
    ("hosts.json", '{"hosts": "web-1"}', load_hosts, HostsError, "hosts.json's hosts is a string"),
    ("applog-endpoints.json", '{"routes": {"/a": {"count": 1, "buckets": {"x": 1}}}}',
     load_applog_endpoints, AppLogEndpointsError, "routes./a.buckets has the key 'x'"),
    ("metrics.csv", "elapsed_s,cpu_pct\n0,\udcff", load_metrics, MetricsError, "metrics.csv is damaged"),
])
def test_a_damaged_artifact_is_refused_with_what_and_how(tmp_path: Path, file: str, text: str, load: object,
                                                         error: type[ArtifactError], says: str) -> None:
    assert callable(load)
    (tmp_path / file).write_text(text, encoding="utf-8", errors="surrogateescape")  # \udcff: byte 0xff
    with pytest.raises(error) as raised:
        load(tmp_path)
    assert says in str(raised.value)
    _one_sentence(raised.value, file)


def test_a_summary_is_parsed_once_per_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Path] = []
    real = summary_module.read_json

    def counting(path: Path) -> object:
        parsed.append(path)
        return real(path)

    monkeypatch.setattr(summary_module, "read_json", counting)
    path = _write_summary(tmp_path / "run")
    first = load_summary(tmp_path / "run")
    first.data["status"] = "edited by a caller"  # a caller's copy: the next caller never sees it
    second = load_summary(RunPaths(tmp_path / "run"))
    assert len(parsed) == 1
    assert second.data["status"] == "pass"
    assert second.profile == "smoke"
    _write_summary(tmp_path / "run", status="fail")  # rewritten: a new version, read again
    os.utime(path, ns=(1, 1))
    assert load_summary(tmp_path / "run").status == "fail"
    assert len(parsed) == 2


def test_the_summary_says_where_an_artifact_is(tmp_path: Path) -> None:
    _write_summary(tmp_path, artifacts={"metrics_csv": {"path": "hosts/metrics.csv"}})
    summary = load_summary(tmp_path)
    assert summary.artifact("metrics_csv", "metrics.csv") == tmp_path / "hosts" / "metrics.csv"
    assert summary.artifact("query_analysis", "query-analysis.json") == tmp_path / "query-analysis.json"


def test_metrics_columns_are_numbers_and_cut_rows_are_left_out(tmp_path: Path) -> None:
    RunPaths(tmp_path).metrics_csv.write_text("elapsed_s,cpu_pct,mem_pct\n0,10,50\n1,,51\n2,30", "utf-8")
    table = load_metrics(tmp_path)
    assert table.rows == 2
    assert list(table.complete("elapsed_s", "cpu_pct")) == [(0.0, 10.0)]
    assert artifacts.load_metrics(RunPaths(tmp_path)) is table  # one parse, shared


def test_event_records_skip_a_torn_line(tmp_path: Path) -> None:
    RunPaths(tmp_path).events.write_text('{"type": "RunStarted"}\n{"type": "Sam', "utf-8")
    assert load_event_records(tmp_path) == [{"type": "RunStarted"}]
    assert load_event_records(RunPaths(tmp_path).events) == [{"type": "RunStarted"}]
