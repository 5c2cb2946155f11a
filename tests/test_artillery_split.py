"""Artillery's split form (`artillery run --config common-config.yml scenarios/x.yml`, its own
`examples/multiple-scenario-specs`): the profile names both files, the plan reads phases, target and
ensure from the config file and scenarios from the scenario file, the command passes `--config`, and
a scenario file named alone asks for its config in one sentence. Fast tier: no tool runs here
(test_artillery_split_e2e.py runs the real Artillery)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfdash.analyze.summary import _profile_json, profile_from_json
from perfdash.settings import Profile, SettingsError, load_settings
from perfdash.tools.artillery.command import run_argv
from perfdash.tools.artillery.plan import merged, read_plan

from .conftest import ROOT

SPLIT = ROOT / "tests" / "data" / "artillery-split"

PROFILES = """
[profiles.zoo]
description = "one scenario of a split suite"
[profiles.zoo.artillery]
%(artillery)s

[environments.local]
kind = "external"
base_url = "http://127.0.0.1:9"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(SPLIT, tmp_path / "artillery")
    return tmp_path


def zoo(project: Path, artillery: str) -> Profile:
    (project / "profiles.toml").write_text(PROFILES % {"artillery": artillery})
    return load_settings(project, env_file=project / "none.env").profile("zoo")


def test_a_profile_names_a_config_file_and_a_scenario_file(project: Path) -> None:
    profile = zoo(project, 'config = "artillery/common-config.yml"\n'
                           'script = "artillery/scenarios/dino.yml"')
    assert profile.artillery_config == project / "artillery/common-config.yml"
    assert profile.artillery_script == project / "artillery/scenarios/dino.yml"
    assert profile.files_for("artillery") == (profile.artillery_config, profile.artillery_script)
    assert profile.files_for("k6") == ()
    # a run rebuilt from its summary keeps the split
    again = profile_from_json(_profile_json(profile), "summary.json")
    assert again.artillery_config == profile.artillery_config
    assert again.artillery_script == profile.artillery_script


def test_the_plan_reads_phases_target_and_ensure_from_the_config_file(project: Path) -> None:
    profile = zoo(project, 'config = "artillery/common-config.yml"\n'
                           'script = "artillery/scenarios/armadillo.yml"')
    plan = read_plan(profile)
    assert plan.problem is None, plan.problem
    assert plan.planned_s == 4  # the config file's one phase
    assert plan.details["target"] == "http://127.0.0.1:9"  # its config.target, with no base URL
    assert plan.details["ensure"] == ["http.response_time.p95 < 2000", "maxErrorRate < 1"]
    assert plan.details["plugins"] == ["ensure", "metrics-by-endpoint"]
    assert plan.warnings == ()
    # the environment's base URL is what perfdash passes as --target, so it is the plan's target
    assert read_plan(profile, "http://127.0.0.1:8000").details["target"] == "http://127.0.0.1:8000"


def test_a_scenario_file_named_alone_asks_for_its_config(project: Path) -> None:
    profile = zoo(project, 'script = "artillery/scenarios/dino.yml"')
    plan = read_plan(profile, "http://127.0.0.1:8000")
    assert plan.problem == ("dino.yml holds scenarios without a `config` section, so Artillery needs "
                            "the config file they were split from")
    assert plan.fix == 'name it in [profiles.zoo.artillery] with config = "path/to/common-config.yml"'


def test_a_config_file_without_config_is_refused(project: Path) -> None:
    profile = zoo(project, 'config = "artillery/scenarios/armadillo.yml"\n'
                           'script = "artillery/scenarios/dino.yml"')
    plan = read_plan(profile, "http://127.0.0.1:8000")
    assert plan.problem == ("armadillo.yml has no `config` section, so it is not an Artillery config "
                            "file")
    assert "config in [profiles.zoo.artillery]" in plan.fix


def test_a_missing_config_file_is_named(project: Path) -> None:
    profile = zoo(project, 'config = "artillery/nope.yml"\nscript = "artillery/scenarios/dino.yml"')
    plan = read_plan(profile, "http://127.0.0.1:8000")
    assert plan.problem is not None
    assert plan.problem.startswith(f"cannot read {project / 'artillery/nope.yml'}")


def test_the_config_file_wins_over_the_scenario_file_as_in_artillery(project: Path) -> None:
    """Artillery merges its inputs with the config file last (lodash `merge`): tables key by key,
    lists item by item."""
    scenario = project / "artillery/scenarios/own.yml"
    scenario.write_text("config:\n  phases: [{duration: 60, arrivalRate: 1}, {duration: 30}]\n"
                        "  http: {timeout: 5}\nscenarios:\n  - flow: [{get: {url: /}}]\n")
    profile = zoo(project, 'config = "artillery/common-config.yml"\n'
                           'script = "artillery/scenarios/own.yml"')
    # the config file's first phase (4 s) replaces the scenario file's first (60 s); the second stays
    assert read_plan(profile).planned_s == 4 + 30
    assert merged({"a": [1, 2], "b": {"c": 1}}, {"a": [3], "b": {"d": 2}}) == {
        "a": [3, 2], "b": {"c": 1, "d": 2}}
    # as node -e "_.merge({a:1,l:[1,2],d:{x:1}},{a:null,l:[{y:1}],d:null})" prints
    assert merged({"a": 1, "l": [1, 2], "d": {"x": 1}}, {"a": None, "l": [{"y": 1}], "d": None}) == {
        "a": None, "l": [{"y": 1}, 2], "d": None}


def test_no_target_anywhere_stops_before_the_load(project: Path) -> None:
    config = project / "artillery/common-config.yml"
    config.write_text(config.read_text().replace("  target: http://127.0.0.1:9\n", ""))
    profile = zoo(project, 'config = "artillery/common-config.yml"\n'
                           'script = "artillery/scenarios/dino.yml"')
    plan = read_plan(profile, None)
    assert plan.problem == ("nothing names a target for Artillery: the environment has no base URL "
                            "and common-config.yml has no config.target")
    assert read_plan(profile, "http://127.0.0.1:8000").problem is None


def test_the_command_passes_the_config_file_with_config(project: Path, tmp_path: Path) -> None:
    profile = zoo(project, 'config = "artillery/common-config.yml"\n'
                           'script = "artillery/scenarios/dino.yml"')
    argv = run_argv(Path("/bin/artillery"), profile, tmp_path, "http://127.0.0.1:8000")
    at = argv.index("--config")
    assert argv[at + 1:] == [str(project / "artillery/common-config.yml"),
                             str(project / "artillery/scenarios/dino.yml")]
    assert argv[argv.index("--target") + 1] == "http://127.0.0.1:8000"
    whole = zoo(project, 'script = "artillery/scenarios/dino.yml"')
    assert "--config" not in run_argv(Path("/bin/artillery"), whole, tmp_path, None)


def test_several_scenario_files_are_refused_in_one_sentence(project: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        zoo(project, 'config = "artillery/common-config.yml"\n'
                     'script = ["artillery/scenarios/dino.yml", "artillery/scenarios/armadillo.yml"]')
    text = str(caught.value)
    assert text.startswith("profiles.toml line ")
    assert "(profiles.zoo.artillery.script): names several scenario files" in text
    assert text.endswith("name one scenario file per profile, or list the scenarios in one file.")
    assert len(text.splitlines()) == 1


def test_a_config_file_without_a_scenario_file_is_refused(project: Path) -> None:
    with pytest.raises(SettingsError, match=r"profiles.zoo.artillery.*sets config but no script"):
        zoo(project, 'config = "artillery/common-config.yml"')


def test_init_wires_a_split_suite_with_its_config(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The example's layout in a project: `perfdash init` offers each scenario file with the config
    file beside its directory, and the profile it writes runs (plan accepted, `--config` passed)."""
    from perfdash.cli import main
    from perfdash.init.discover import discover

    shutil.copytree(SPLIT, tmp_path / "load")
    (tmp_path / "load" / "app-settings.yml").write_text("config:\n  debug: true\n")  # not Artillery's
    (tmp_path / "load" / "scenarios" / "notes.yml").write_text("scenarios: just words\n")
    found = discover(tmp_path)
    assert {(a.path, a.config) for a in found.artillery} == {
        ("load/scenarios/armadillo.yml", "load/common-config.yml"),
        ("load/scenarios/dino.yml", "load/common-config.yml")}
    armadillo = next(a for a in found.artillery if a.path.endswith("armadillo.yml"))
    assert (armadillo.phases, armadillo.ensure, armadillo.target) == (True, True, "http://127.0.0.1:9")
    assert main(["init", "--project", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "load/scenarios/armadillo.yml (phases; ensure; plugins: metrics-by-endpoint, ensure; " \
           "runs with --config load/common-config.yml)" in " ".join(out.split())
    smoke = load_settings(tmp_path, env_file=tmp_path / "none.env").profile("smoke")
    assert smoke.artillery_config == tmp_path / "load/common-config.yml"
    assert smoke.artillery_script == tmp_path / "load/scenarios/armadillo.yml"
    assert read_plan(smoke, "http://127.0.0.1:8000").problem is None


def test_a_scenario_file_with_no_config_above_it_is_not_offered(tmp_path: Path) -> None:
    from perfdash.init.discover import discover

    shutil.copytree(SPLIT / "scenarios", tmp_path / "scenarios")
    (tmp_path / "other").mkdir()
    shutil.copy(SPLIT / "common-config.yml", tmp_path / "other" / "common-config.yml")
    assert discover(tmp_path).artillery == ()  # the config is in a sibling directory, not above
