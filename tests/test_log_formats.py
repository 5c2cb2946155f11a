"""A server's own access-log format string in the settings: translated to a preset and a unit, or
refused with the fix when the request time is not where perfdash reads it (the end of the line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfdash.log_formats import FormatError, from_format_string
from perfdash.settings import SettingsError, load_settings

NGINX_COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                  '"$http_referer" "$http_user_agent"')


@pytest.mark.parametrize(("text", "expected"), [
    (NGINX_COMBINED + " $request_time", ("nginx", "s")),
    (NGINX_COMBINED + " $request_time $upstream_response_time", ("nginx", "s")),
    (NGINX_COMBINED, ("combined", None)),
    ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)s', ("gunicorn", "ms")),
    ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s', ("gunicorn", "us")),
    ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s', ("gunicorn", "s")),
    ('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D', ("apache", "us")),
    ('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %{ms}T', ("apache", "ms")),
    ('%h %l %u %t "%r" %>s %b', ("combined", None)),
])
def test_server_formats_name_their_preset_and_unit(text: str, expected: tuple[str, str | None]) -> None:
    assert from_format_string(text) == expected


def test_a_time_that_is_not_last_is_refused_with_the_fix() -> None:
    with pytest.raises(FormatError) as err:
        from_format_string('$request_time $remote_addr "$request" $status')
    assert "move $request_time to the end" in err.value.fix


def _project(tmp_path: Path, env_lines: str) -> Path:
    (tmp_path / "profiles.toml").write_text(
        '[profiles.p]\nmode = "parallel"\n[profiles.p.k6]\nscript = "s.js"\n'
        '[environments.e]\nkind = "external"\nbase_url = "http://127.0.0.1:9"\n' + env_lines + "\n")
    (tmp_path / "s.js").write_text("export default function () {}\n")
    return tmp_path


def test_the_settings_take_a_gunicorn_format_string(tmp_path: Path) -> None:
    fmt = '%(h)s %(l)s %(u)s %(t)s \\"%(r)s\\" %(s)s %(b)s \\"%(f)s\\" \\"%(a)s\\" %(M)s'
    env = load_settings(_project(tmp_path, f'app_log = "access.log"\naccess_log_format = "{fmt}"')
                        ).environment("e")
    assert (env.access_log_format, env.access_log_time_unit) == ("gunicorn", "ms")


def test_a_logs_entry_takes_an_nginx_format_string(tmp_path: Path) -> None:
    fmt = "$remote_addr [$time_local] \\\"$request\\\" $status $body_bytes_sent $request_time"
    entry = f'{{ path = "a.log", kind = "access", format = "{fmt}" }}'
    env = load_settings(_project(tmp_path, f"logs = [{entry}]")).environment("e")
    (spec,) = env.logs
    assert (spec.format, spec.time_unit) == ("nginx", "s")


def test_a_format_and_a_unit_that_disagree_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r'writes its request time in "ms", the time unit says "s"; '
                                            r"drop the time unit"):
        load_settings(_project(tmp_path, 'app_log = "a.log"\naccess_log_format = "%(h)s %(M)s"\n'
                                         'access_log_time_unit = "s"')).environment("e")
