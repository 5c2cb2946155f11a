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
from pathlib import Path

from perfdash.init.discover import Discovery, K6Script

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
DATABASE_PLACEHOLDER = "postgresql://USER:PASSWORD@127.0.0.1:5432/DBNAME"
GITIGNORE_WANTED = {
    ".env.performance": {".env.performance", "/.env.performance", ".env*", ".env.*"},
    "results/": {"results", "results/", "/results", "/results/"},
}


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def base_url(d: Discovery) -> str:
    return f"http://127.0.0.1:{d.port.value}" if d.port else DEFAULT_BASE_URL


def _k6_features(s: K6Script) -> str:
    shape = [n for n, on in (("export default function", s.default_function),
                             ("options.scenarios", s.scenarios), ("stages", s.stages),
                             ("thresholds", s.thresholds)) if on]
    return ", ".join(shape) or "no options of its own"


def _k6_env_line(s: K6Script) -> str | None:
    extra = [(name, value) for name, value in s.env if name != "BASE_URL"]
    if not extra:
        return None
    return "env = { " + ", ".join(f"{name} = {q(value or '')}" for name, value in extra) + " }"


def _header(d: Discovery) -> list[str]:
    lines = [
        "# perfdash settings for this project, written by `perfdash init`; edit freely.",
        "# No secrets here: URLs with passwords and tokens go in .env.performance (copy "
        ".env.performance.example).",
        "#",
        "#   perfdash doctor --env local              checks tools, scripts, backend and database",
        "#   perfdash run --profile smoke --env local  runs your own k6 and Artillery suites once",
        "#",
        "# Threshold expressions are \"<stat> <op> <number>\": k6 syntax for k6 metrics (\"p(95)<500\",",
        "# \"rate>=0.99\"), the report's names for Artillery (\"http.response_time\" = [\"p95<800\"]).",
    ]
    others = [s.path for s in d.k6[1:] if s.default_function] + [a.path for a in d.artillery[1:]]
    if others:
        lines += ["#", "# Other suites found (copy the smoke profile, e.g. as [profiles.checkout], to run "
                  "them):"]
        lines += [f"#   {p}" for p in others]
    return [*lines, "", "[defaults]",
            "# where each run's directory (<results_dir>/<timestamp>/) goes, relative to this file",
            'results_dir = "results/perf"', ""]


def _profile(d: Discovery) -> list[str]:
    tools = " and ".join(t for t, found in (("k6", d.k6), ("Artillery", d.artillery)) if found)
    description = f"Your own {tools} suite, run as written, with the scripts' own load shape."
    lines = [
        "# " + "-" * 85 + " profiles", "",
        "[profiles.smoke]",
        "# one line shown in the dashboard and the report",
        f"description = {q(description)}",
        '# "parallel": k6 and Artillery at the same time; "sequential": k6 first, then Artillery',
        'mode = "parallel"', "",
    ]
    if d.k6:
        s = d.k6[0]
        lines += [
            "[profiles.smoke.k6]",
            f"# the k6 script, relative to this file ({_k6_features(s)})",
            f"script = {q(s.path)}",
            "# stages replace the script's own scenarios/stages with one ramping-VU run (k6 --stage);",
            "# uncomment to shorten a run:",
            '# stages = [{ duration = "10s", target = 2 }, { duration = "20s", target = 2 }]',
        ]
        env_line = _k6_env_line(s)
        names = ", ".join(f"__ENV.{n}" for n, _ in s.env) or "no __ENV variables"
        lines.append(f"# the script reads {names}; BASE_URL is passed from the environment automatically")
        if env_line:
            lines += ["# more k6 variables, each passed as -e KEY=value (values: the script's fallbacks):",
                      f"# {env_line}"]
        else:
            lines += ['# more k6 variables, each passed as -e KEY=value:', '# env = { KEY = "value" }']
        lines.append("")
    if d.artillery:
        a = d.artillery[0]
        shape = ", ".join(n for n, on in (("config.phases", a.phases), ("ensure", a.ensure)) if on)
        lines += [
            "[profiles.smoke.artillery]",
            f"# the Artillery scenario file, relative to this file ({shape or 'no phases of its own'})",
            f"script = {q(a.path)}",
            "# phases replace the file's config.phases (Artillery --overrides); uncomment to shorten a run:",
            "# phases = [{ duration = 20, arrivalRate = 2 }]",
        ]
        if a.environments:
            lines += [f"# one of the file's config.environments ({', '.join(a.environments)}), "
                      "passed as -e NAME:",
                      f"# environment = {q(a.environments[0])}"]
        else:
            lines += ["# one of the file's config.environments, passed as -e NAME (it defines none):",
                      '# environment = "staging"']
        lines += ["# a URL for Artillery instead of the environment's base URL (normally left unset):",
                  f"# target = {q(base_url(d))}", ""]
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
    return lines


def _key(comment: str, key: str, value: str | None, example: str) -> list[str]:
    """A commented key: written when discovered, commented out with an example otherwise."""
    return [f"# {comment}", f"{key} = {q(value)}" if value is not None else f"# {key} = {q(example)}"]


def _local(d: Discovery) -> list[str]:
    svc = d.service
    workdir = svc.working_dir if svc else "."
    app_log = posixpath.relpath(d.app_log.value, workdir) if d.app_log else None
    lines = [
        "# " + "-" * 81 + " environments", "",
        "[environments.local]",
        "# shown in the dashboard and the report",
        'description = "This project\'s backend on this machine; URL, database and token come from '
        '.env.performance."',
        "# external: your backend, at PERF_BASE_URL from .env.performance; perfdash never owns its data",
        'kind = "external"',
        f"# where start, stop and seed commands run, relative to this file"
        f"{f' (holds {svc.package_json})' if svc else ''}",
        f"working_dir = {q(workdir)}",
    ]
    start_why = f'package.json "{svc.start_script}" script' if svc else "no package.json start script found"
    lines += _key(f"starts the backend when it is not answering yet ({start_why})", "start_command",
                  svc.start_command if svc else None, "npm run start")
    stop_why = ('package.json "stop" script' if svc and svc.stop_command else
                "no stop script found: perfdash stops the process it started")
    lines += _key(f"stops the backend for cleanup ({stop_why})", "stop_command",
                  svc.stop_command if svc else None, "npm run stop")
    health_why = f"found in {d.health.source}" if d.health else "not found in the sources: the default"
    lines += [f"# the route perfdash polls to see the backend is up ({health_why})",
              f"health_path = {q(d.health.value if d.health else '/health')}"]
    log_why = (f"{d.app_log.value}, {d.app_log.source}" if d.app_log
               else "none found: name it to see ERROR/WARN lines live")
    lines += _key(f"the backend's log, relative to working_dir, tailed during the run ({log_why})",
                  "app_log", app_log, "logs/app.log")
    lines += _key("docker compose file of the backend's dependencies, relative to this file",
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


def render_env_example(d: Discovery) -> str:
    port_why = (f"guessed from {d.port.source}, PORT {d.port.value}" if d.port
                else "no PORT default found; the usual Node port")
    return "\n".join([
        "# Copy to .env.performance (never commit that file) and fill in.",
        "# Read by perfdash for [environments.local]; variables set in the shell take precedence.",
        "",
        f"# Where the backend listens, HTTP and Socket.IO ({port_why}).",
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
