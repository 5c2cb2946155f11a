"""Render what `discover` found as a commented profiles.toml and .env.performance.example.

The output is the user's first contact with perfdash's settings, so it is written as text rather than
through a TOML writer: every key carries a one-line comment saying what it does, and the options the
project may want next (shorter stages, k6 variables, an Artillery environment, seeding, a staging
environment) sit right there, commented out. The smoke profile sets no stages or phases, so the
scripts run exactly as their authors wrote them.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from pathlib import Path

from perfdash.init.discover import Discovery
from perfdash.init.logs import LogFound
from perfdash.init.suites import ArtilleryScript, K6Script

DATABASE_PLACEHOLDER = "postgresql://USER:PASSWORD@127.0.0.1:5432/DBNAME"
GITIGNORE_WANTED = {
    ".env.performance": {".env.performance", "/.env.performance", ".env*", ".env.*"},
    "results/": {"results", "results/", "/results", "/results/"},
}


def comment(text: str) -> list[str]:
    """A long comment as `# ` lines of at most 100 characters."""
    return ["# " + line for line in textwrap.wrap(text, 98, break_on_hyphens=False)]


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def base_url(d: Discovery) -> str:
    return f"http://127.0.0.1:{d.port.value}"


def _k6_features(s: K6Script) -> str:
    shape = [n for n, on in (("export default function", s.default_function),
                             ("options.scenarios", s.scenarios), ("stages", s.stages),
                             ("thresholds", s.thresholds)) if on]
    return ", ".join(shape) or "no options of its own"


def _k6_env_line(s: K6Script) -> str | None:
    """The script's other variables (load knobs, not its base URL) with their fallbacks."""
    extra = [(name, value) for name, value in s.env if name != "BASE_URL" and name not in s.url_env]
    if not extra:
        return None
    return "env = { " + ", ".join(f"{name} = {q(value or '')}" for name, value in extra) + " }"


def url_names(s: K6Script) -> str:
    return " and ".join(dict.fromkeys(["BASE_URL", *s.url_env]))


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower()).strip("-") or "suite"


def _header(d: Discovery) -> list[str]:
    lines = [
        "# perfdash settings for this project, written by `perfdash init`; edit freely.",
        "# No secrets here: URLs with passwords and tokens go in .env.performance (copy "
        ".env.performance.example).",
        "# The backend's URL lives there only (PERF_BASE_URL): perfdash hands it to k6 under every name",
        "# the script reads (BASE_URL, API_URL, ...) and to Artillery as --target.",
        "#",
        "#   perfdash doctor --env local              checks tools, scripts, backend and database",
        "#   perfdash run --profile smoke --env local  runs your own k6 and Artillery suites once",
        "#",
        "# Threshold expressions are \"<stat> <op> <number>\": k6 syntax for k6 metrics (\"p(95)<500\",",
        "# \"rate>=0.99\"), the report's names for Artillery (\"http.response_time\" = [\"p95<800\"]).",
    ]
    main = {getattr(d.main_k6, "path", None), getattr(d.main_artillery, "path", None)}
    others = [s.path for s in d.k6 if s.runnable and s.negative is None and s.path not in main] + [
        a.path for a in d.artillery if a.negative is None and a.path not in main]
    if others:
        lines += ["#", "# Other suites found (copy the smoke profile, e.g. as [profiles.checkout], to run "
                  "them):"]
        lines += [f"#   {p}" for p in others]
    return [*lines, "", "[defaults]",
            "# where each run's directory (<results_dir>/<timestamp>/) goes, relative to this file",
            'results_dir = "results/perf"', ""]


def _k6_table(name: str, s: K6Script) -> list[str]:
    names = ", ".join(f"__ENV.{n}" for n, _ in s.env) or "no __ENV variables"
    lines = [
        f"[profiles.{name}.k6]",
        f"# the k6 script, relative to this file ({_k6_features(s)})",
        f"script = {q(s.path)}",
        "# stages replace the script's own scenarios/stages with one ramping-VU run (k6 --stage);",
        "# uncomment to shorten a run:",
        '# stages = [{ duration = "10s", target = 2 }, { duration = "20s", target = 2 }]',
        f"# the script reads {names}; the environment's base URL is passed as {url_names(s)}",
    ]
    env_line = _k6_env_line(s)
    if env_line:
        lines += ["# more k6 variables, each passed as -e KEY=value (values: the script's fallbacks):",
                  f"# {env_line}"]
    else:
        lines += ["# more k6 variables, each passed as -e KEY=value:", '# env = { KEY = "value" }']
    return [*lines, ""]


def _artillery_table(name: str, a: ArtilleryScript, d: Discovery) -> list[str]:
    shape = ", ".join(n for n, on in (("config.phases", a.phases), ("ensure", a.ensure)) if on)
    lines = [f"[profiles.{name}.artillery]"]
    if a.config:
        lines += ["# the config file the scenario file was split from, passed as --config "
                  f"({shape or 'no phases of its own'})", f"config = {q(a.config)}",
                  "# the scenario file, run with that config (one per profile)",
                  f"script = {q(a.path)}"]
    else:
        lines += [f"# the Artillery scenario file, relative to this file "
                  f"({shape or 'no phases of its own'})", f"script = {q(a.path)}"]
    lines += [
        "# phases replace the file's config.phases (Artillery --overrides); uncomment to shorten a run:",
        "# phases = [{ duration = 20, arrivalRate = 2 }]",
    ]
    if a.environments:
        lines += [f"# one of the file's config.environments ({', '.join(a.environments)}), "
                  "passed as -e NAME:", f"# environment = {q(a.environments[0])}"]
    else:
        lines += ["# one of the file's config.environments, passed as -e NAME (it defines none):",
                  '# environment = "staging"']
    lines += ["# a URL for Artillery instead of the environment's base URL (normally left unset):",
              f"# target = {q(base_url(d))}"]
    return [*lines, ""]


def _profile(d: Discovery) -> list[str]:
    k6, art = d.main_k6 or next((s for s in d.k6 if s.negative is None), None), d.main_artillery
    lines = ["# " + "-" * 85 + " profiles", ""]
    if k6 or art:
        tools = " and ".join(t for t, found in (("k6", k6), ("Artillery", art)) if found)
        description = f"Your own {tools} suite, run as written, with the scripts' own load shape."
        lines += [
            "[profiles.smoke]",
            "# one line shown in the dashboard and the report",
            f"description = {q(description)}",
            '# "parallel": k6 and Artillery at the same time; "sequential": k6 first, then Artillery',
            'mode = "parallel"', "",
        ]
        if k6:
            lines += _k6_table("smoke", k6)
        if art:
            lines += _artillery_table("smoke", art, d)
        lines += [
            "# Pass/fail rules. The scripts' own k6 thresholds and Artillery ensure checks are already part",
            "# of the verdict; rules written here are added to them, never instead of them.",
            "[profiles.smoke.thresholds.k6]",
            "# 95% of k6 requests faster than 500 ms:",
            '# "http_req_duration" = ["p(95)<500"]',
            "# fewer than 1% failed k6 requests:",
            '# "http_req_failed" = ["rate<0.01"]', "",
            "[profiles.smoke.thresholds.artillery]",
            "# Artillery's p95 response time under 800 ms:",
            '# "http.response_time" = ["p95<800"]',
            "# no Artillery virtual user failed:",
            '# "vusers.failed" = ["count==0"]', "",
        ]
    for suite in d.negative:
        lines += _negative_profile(suite, commented=bool(k6 or art))
    return lines


def _negative_profile(suite: K6Script | ArtilleryScript, commented: bool) -> list[str]:
    """A suite meant to fail gets a profile of its own: never mixed into the smoke profile's verdict."""
    name = f"negative-{slug(suite.path)}"
    prefix = "# " if commented else ""
    tool = "k6" if isinstance(suite, K6Script) else "Artillery"
    lines = [*comment(f"A negative test ({suite.negative}): every request in {suite.path} is meant to "
                      "fail, so its run is FAIL by design and the failures are what it checks. Kept out "
                      "of the smoke profile" + ("; uncomment to run it on purpose:" if commented else ":")),
             f"{prefix}[profiles.{name}]",
             f"{prefix}description = {q(f'Negative {tool} test: every request is meant to fail.')}",
             f'{prefix}mode = "parallel"', ""]
    table = f"profiles.{name}.{'k6' if isinstance(suite, K6Script) else 'artillery'}"
    return [*lines, f"{prefix}[{table}]", f"{prefix}script = {q(suite.path)}", ""]


def _key(comment: str, key: str, value: str | None, example: str) -> list[str]:
    """A commented key: written when discovered, commented out with an example otherwise."""
    return [f"# {comment}", f"{key} = {q(value)}" if value is not None else f"# {key} = {q(example)}"]


def _local(d: Discovery) -> list[str]:
    svc = d.service
    workdir = svc.working_dir if svc else "."
    lines = [
        "# " + "-" * 81 + " environments", "",
        "[environments.local]",
        "# shown in the dashboard and the report",
        'description = "This project\'s backend on this machine; URL, database and token come from '
        '.env.performance."',
        "# external: your backend, at PERF_BASE_URL from .env.performance; perfdash never owns its data",
        'kind = "external"',
        f"# where start, stop and seed commands run, relative to this file"
        f"{f' (holds {svc.source})' if svc else ''}",
        f"working_dir = {q(workdir)}",
    ]
    start_why = svc.start_why if svc else ("nothing found: no Makefile start target, package.json or "
                                           "pyproject start script, compose app or Procfile")
    lines += _key(f"starts the backend when it is not answering yet ({start_why})", "start_command",
                  svc.start_command if svc else None, "make start")
    stop_why = (svc.stop_why if svc and svc.stop_why else
                "no stop command found: perfdash stops the process it started")
    lines += _key(f"stops the backend for cleanup ({stop_why})", "stop_command",
                  svc.stop_command if svc else None, "make stop")
    health_why = f"found in {d.health.source}" if d.health else "not found in the sources: the default"
    lines += [f"# the route perfdash polls to see the backend is up ({health_why})",
              f"health_path = {q(d.health.value if d.health else '/health')}"]
    lines += _logs(d, workdir)
    lines += _key("docker compose file of the backend or its dependencies, relative to this file",
                  "compose_file", d.compose_file, "docker-compose.yml")
    if d.artillery_bin:
        lines += _key("the Artillery binary to use, relative to this file (a package.json depends "
                      "on artillery)", "artillery", None, d.artillery_bin)
    lines += [
        "# false: perfdash may delete the test data it seeded here (true: never)",
        "protected = false",
        "# SQL run before the load to create test data, relative to this file "
        "(INSERT ... RETURNING <primary key>)",
        '# seed_sql = "scripts/perf-seed.sql"',
        "# or a command that creates test data, run in working_dir (use seed_sql or seed_command)",
        '# seed_command = "npm run seed:perf"',
        "# true: delete the seeded data and stop the backend after every run",
        "# cleanup_after_run = false", "",
    ]
    return lines


def _logs(d: Discovery, workdir: str) -> list[str]:
    """Both logs found: `logs = [...]`, the app log for errors and warnings, the access log for the
    requests per endpoint. One found: `app_log`, which reads its errors and its request lines alike."""
    app, access = d.app_log, d.access_log
    chosen = app or access
    if chosen is None:
        return _key("the backend's log, relative to working_dir, tailed during the run (none found in "
                    "the code, config or start command: name it to see ERROR/WARN lines live)",
                    "app_log", None, "logs/app.log")
    if app is not None and access is not None:
        return _both_logs(app, access, workdir)
    rel = posixpath.relpath(chosen.path, workdir)
    state = "" if chosen.exists else ", not written yet"
    what = "the app log" if chosen.kind == "app" else "the access log (per-endpoint server latency)"
    lines = [*comment(f"{what}, relative to working_dir, tailed during the run ({chosen.path}: "
                      f"{chosen.why}{state})"), f"app_log = {q(rel)}"]
    if chosen.kind == "access" and chosen.access_format:
        lines += _access_keys(chosen, commented=False)
    return lines


def _both_logs(app: LogFound, access: LogFound, workdir: str) -> list[str]:
    lines = [*comment("the backend's logs, relative to working_dir, tailed during the run: the app log "
                      "for its ERROR and WARN lines and the log pane, the access log for the requests "
                      "per endpoint and their server latency")]
    entries = []
    for log in (app, access):
        state = "" if log.exists else ", not written yet"
        lines += comment(f"{log.kind}: {log.path} ({log.why}{state})")
        entry = f"path = {q(posixpath.relpath(log.path, workdir))}, kind = {q(log.kind)}"
        if log.kind == "access" and log.access_format:
            entry += f", format = {q(log.access_format)}"
            if log.time_unit:
                field_name = {"ms": "%(M)s", "us": "%(D)s", "s": "%(L)s"}.get(log.time_unit, log.time_unit)
                lines += comment(f"its format and request-time unit ({field_name}) are those of the start "
                                 "command's gunicorn --access-logformat")
                entry += f", time_unit = {q(log.time_unit)}"
            elif log.access_format in ("combined", "common"):
                lines += comment(f"its format: {log.access_format}, without a request time")
        entries.append(f"    {{ {entry} }},")
    return [*lines, "logs = [", *entries, "]"]


def _access_keys(log: LogFound, commented: bool) -> list[str]:
    fmt, unit = log.access_format, log.time_unit
    c = "# " if commented else ""
    lines = ["# its format (the start command's gunicorn --access-logformat)" if unit else
             "# its format (gunicorn's default: no request time)", f"{c}access_log_format = {q(fmt or '')}"]
    if unit:
        field_name = {"ms": "%(M)s", "us": "%(D)s", "s": "%(L)s"}.get(unit, unit)
        lines += [f"# the request time's unit ({field_name} in the format)",
                  f"{c}access_log_time_unit = {q(unit)}"]
    return lines


def _staging() -> list[str]:
    return [
        "# A shared environment: uncomment, and add PERF_STAGING_* to .env.performance.",
        "# [environments.staging]",
        '# description = "Shared staging: perfdash never deletes data there."  # shown in reports',
        '# kind = "external"                                # your backend, reached over the network',
        '# base_url_env = "PERF_STAGING_BASE_URL"           # variable holding its base URL',
        '# database_url_env = "PERF_STAGING_DATABASE_URL"   # variable holding its database URL',
        '# token_env = "PERF_STAGING_API_TOKEN"             # variable holding its API token',
        "# protected = true                                 # never delete data there",
    ]


def render_profiles(d: Discovery) -> str:
    return "\n".join([*_header(d), *_profile(d), *_local(d), *_staging()]) + "\n"


def port_comment(d: Discovery) -> list[str]:
    p = d.port
    if p.port is None:
        return ["# Where the backend listens, HTTP and Socket.IO. Nothing in the project names a port",
                "# (start command, Makefile, compose, .env, code, load scripts): "
                f"{p.value} is a placeholder, set yours."]
    lines = comment(f"Where the backend listens, HTTP and Socket.IO: port {p.port} from {p.source}.")
    if p.agree:
        lines += comment("The same port in: " + "; ".join(p.agree) + ".")
    for why in p.disagree:
        lines += comment(f"Not used: {why}.")
    return lines


def render_env_example(d: Discovery) -> str:
    return "\n".join([
        "# Copy to .env.performance (never commit that file) and fill in.",
        "# Read by perfdash for [environments.local]; variables set in the shell take precedence.",
        "",
        *port_comment(d),
        f"PERF_BASE_URL={base_url(d)}",
        "# The backend's PostgreSQL: perfdash reads pg_stat_statements and pg_stat_user_tables, and seeds "
        "test data.",
        f"PERF_DATABASE_URL={DATABASE_PLACEHOLDER}",
        "# Bearer token for authenticated endpoints and the Socket.IO handshake; empty if none is needed.",
        "PERF_API_TOKEN=",
        "",
        "# For [environments.staging] (commented out in profiles.toml):",
        "# PERF_STAGING_BASE_URL=",
        "# PERF_STAGING_DATABASE_URL=",
        "# PERF_STAGING_API_TOKEN=",
    ]) + "\n"


def gitignore_missing(path: Path) -> list[str]:
    """The entries perfdash needs that .gitignore lacks (none when there is no .gitignore)."""
    if not path.is_file():
        return []
    present = {ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()}
    return [entry for entry, forms in GITIGNORE_WANTED.items() if not present & forms]


def add_to_gitignore(path: Path, entries: list[str]) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    block = "\n# perfdash: secrets and run results\n" + "\n".join(entries) + "\n"
    path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + block, encoding="utf-8")
