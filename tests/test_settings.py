"""Settings validation: every mistake is one sentence naming the file, the line or key, and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfdash.secret import Secret
from perfdash.settings import SettingsError, load_settings, parse_duration, require_external_env

from .conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "profiles.toml", tmp_path / "profiles.toml")
    return tmp_path


def test_shipped_profiles_load_with_all_five_profiles(project: Path) -> None:
    settings = load_settings(project)
    assert set(settings.profiles) >= {"smoke", "load", "stress", "spike", "soak"}
    smoke = settings.profile("smoke")
    assert smoke.planned_seconds <= 30
    metrics = {(t.tool, t.metric, t.expression) for t in smoke.thresholds}
    assert ("k6", "http_req_duration", "p(95)<500") in metrics
    assert ("k6", "checks", "rate>=0.99") in metrics
    assert ("artillery", "socketio.errors", "count==0") in metrics
    assert settings.environment("staging").protected is True


def test_k6_web_dashboard_is_off_unless_a_profile_asks(project: Path) -> None:
    """The output costs k6 CPU that grows with the run: only the short, light demo profiles (the
    ones comparisons are made from) turn it on, and a user's profile gets it only by asking."""
    settings = load_settings(project)
    assert {n for n, p in settings.profiles.items() if p.k6_web_dashboard} == {"smoke", "steady"}
    path = project / "profiles.toml"
    path.write_text(path.read_text().replace("web_dashboard = true", 'web_dashboard = "yes"', 1))
    with pytest.raises(SettingsError, match=r"profiles.smoke.k6.*web_dashboard.*expected true or "
                                            r"false, got 'yes'.*without quotes"):
        load_settings(project)


def test_broken_toml_names_the_line(project: Path) -> None:
    text = (project / "profiles.toml").read_text().replace('mode = "parallel"', "mode = ", 1)
    (project / "profiles.toml").write_text(text)
    with pytest.raises(SettingsError, match=r"profiles.toml is not valid TOML: .*line \d+.*fix"):
        load_settings(project)


def test_unknown_profile_and_environment_list_the_choices(project: Path) -> None:
    settings = load_settings(project)
    with pytest.raises(SettingsError, match=r"no profile 'lod'; choose one of: load, locust-smoke, smoke"):
        settings.profile("lod")
    with pytest.raises(SettingsError, match=r"no environment 'prod'; choose one of: demo, local"):
        settings.environment("prod")


def test_bad_threshold_expression_points_at_its_line(project: Path) -> None:
    path = project / "profiles.toml"
    text = path.read_text().replace('"checks" = ["rate>=0.99"]', '"checks" = ["rate >> 0.99"]', 1)
    path.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "rate >> 0.99" in ln)
    with pytest.raises(SettingsError) as err:
        load_settings(project)
    message = str(err.value)
    assert f"profiles.toml line {line}" in message
    assert "cannot read threshold 'rate >> 0.99'" in message
    assert "p(95)<500" in message  # the fix shows the expected form


def test_unknown_key_is_named_with_the_known_ones(project: Path) -> None:
    path = project / "profiles.toml"
    path.write_text(path.read_text().replace('mode = "parallel"', 'mood = "parallel"', 1))
    with pytest.raises(SettingsError, match=r"line \d+ .*unknown key 'mood'; use one of: .*mode"):
        load_settings(project)


def test_bad_stage_duration(project: Path) -> None:
    path = project / "profiles.toml"
    path.write_text(path.read_text().replace('{ duration = "5s", target = 2 }',
                                             '{ duration = "5 secs", target = 2 }', 1))
    with pytest.raises(SettingsError, match=r"bad duration '5 secs'.*\"30s\""):
        load_settings(project)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"profiles.toml does not exist; run perfdash from"):
        load_settings(tmp_path)


def test_env_file_secrets_are_wrapped_and_redacted(project: Path, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    for var in ("PERF_BASE_URL", "PERF_DATABASE_URL", "PERF_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    (project / ".env.performance").write_text(
        "PERF_BASE_URL=http://127.0.0.1:3000/\n"
        "PERF_DATABASE_URL=postgresql://app:hunter2-db@127.0.0.1:5432/app\n"
        "PERF_API_TOKEN=tok-sekrit-123\n")
    env = load_settings(project).environment("local")
    assert env.base_url == "http://127.0.0.1:3000"
    assert isinstance(env.database_url, Secret)
    assert env.database_url.reveal().endswith("/app")
    shown = f"{env} {env!r} {env.redacted()}"
    assert "hunter2-db" not in shown
    assert "tok-sekrit-123" not in shown
    assert "postgresql://app:***@127.0.0.1:5432/app" in str(env.redacted())


def test_shell_variables_override_the_env_file(project: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    (project / ".env.performance").write_text("PERF_BASE_URL=http://127.0.0.1:1111\n")
    monkeypatch.setenv("PERF_BASE_URL", "http://127.0.0.1:2222")
    assert load_settings(project).environment("local").base_url == "http://127.0.0.1:2222"


def test_missing_env_file_for_external_environment(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERF_BASE_URL", raising=False)
    env = load_settings(project).environment("local")
    with pytest.raises(SettingsError, match=r"\.env\.performance not found .* copy "
                                            r"\.env\.performance\.example"):
        require_external_env(env, project / ".env.performance")


def test_durations() -> None:
    assert parse_duration("1m30s") == 90
    assert parse_duration("2h") == 7200
    assert parse_duration("500ms") == 0.5
    with pytest.raises(ValueError, match="5x"):
        parse_duration("5x")


def _local_env(project: Path, lines: str) -> None:
    path = project / "profiles.toml"
    path.write_text(path.read_text().replace('[environments.local]\n', f'[environments.local]\n{lines}\n', 1))


def test_access_log_format_and_time_unit(project: Path) -> None:
    settings = load_settings(project)
    local = settings.environment("local")
    assert (local.access_log_format, local.access_log_time_unit) == (None, None)
    _local_env(project, 'access_log_format = "gunicorn"\naccess_log_time_unit = "us"')
    local = load_settings(project).environment("local")
    assert (local.access_log_format, local.access_log_time_unit) == ("gunicorn", "us")


@pytest.mark.parametrize(("lines", "message"), [
    ('access_log_format = "iis"', r"line \d+ \(environments.local.access_log_format\): unknown value "
                                  r"'iis'; use one of \"combined\", \"common\", \"nginx\", \"gunicorn\", "
                                  r"\"apache\", or the server's own format string\.$"),
    ('access_log_time_unit = "msec"', r"access_log_time_unit\): unknown value 'msec'; use one of \"us\", "
                                      r"\"ms\", \"s\"\.$"),
    ('access_log_time_unit = 1000', r"access_log_time_unit\): expected a string, got 1000; quote"),
    ('access_log_format = "combined"\naccess_log_time_unit = "ms"',
     r'access_log_format = "combined" has no request time; drop access_log_time_unit'),
])
def test_bad_access_log_settings_are_one_sentence(project: Path, lines: str, message: str) -> None:
    _local_env(project, lines)
    with pytest.raises(SettingsError, match=message):
        load_settings(project)


def test_pool_log_pattern_is_checked_once(project: Path) -> None:
    original = (project / "profiles.toml").read_text()
    _local_env(project, "pool_log_pattern = 'pool exhausted \\(waiting=\\d+\\)'")
    assert load_settings(project).environment("local").pool_log_pattern == r"pool exhausted \(waiting=\d+\)"
    (project / "profiles.toml").write_text(original)
    _local_env(project, "pool_log_pattern = 'pool ('")
    with pytest.raises(SettingsError, match=r"pool_log_pattern\): 'pool \(' is not a regular expression"):
        load_settings(project)
