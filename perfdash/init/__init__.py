"""`perfdash init`: a first profiles.toml and .env.performance.example for an existing backend project.

New users arrive with their own k6 scripts, Artillery files and a backend started by `npm run start`;
writing the settings by hand means learning the schema first. `init` reads the project (never runs
anything in it), writes settings that run the scripts as they are, and prints what it found, with
paths, and what is still to check, because a guess that is shown can be corrected in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perfdash.init.discover import Discovery, discover
from perfdash.init.write import (
    add_to_gitignore,
    base_url,
    gitignore_missing,
    render_env_example,
    render_profiles,
)

PROFILES = "profiles.toml"
ENV_EXAMPLE = ".env.performance.example"
URL_HINTS = ("URL", "HOST", "ENDPOINT", "TARGET")


class InitError(Exception):
    """Why init wrote nothing, as one sentence for the user."""


def found_lines(d: Discovery) -> list[str]:
    """What was found, one line per item with its path, and what was not."""
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    for s in d.k6:
        reads = ", ".join(f"__ENV.{n}" for n, _ in s.env)
        shape = [n for n, on in (("default function", s.default_function), ("scenarios", s.scenarios),
                                 ("stages", s.stages), ("thresholds", s.thresholds)) if on]
        if not s.default_function and not s.scenarios:
            shape.append("no default function and no scenarios: a shared module?")
        found.append(("k6 script", f"{s.path} ({', '.join(shape)}"
                                   f"{'; reads ' + reads if reads else ''})"))
    for a in d.artillery:
        shape = [n for n, on in (("phases", a.phases), ("ensure", a.ensure)) if on]
        if a.environments:
            shape.append("environments: " + ", ".join(a.environments))
        if a.plugins:
            shape.append("plugins: " + ", ".join(a.plugins))
        found.append(("Artillery YAML", f"{a.path} ({'; '.join(shape) or 'no phases'})"))
    if d.service:
        svc = d.service
        found.append(("backend", f"{svc.package_json}: start `{svc.start_command}`, stop "
                                 f"{f'`{svc.stop_command}`' if svc.stop_command else '(no stop script)'}"))
    else:
        missing.append("a package.json with a start, start:prod or dev script (root or two levels down)")
    if d.health:
        found.append(("health route", f"{d.health.value} in {d.health.source}"))
    else:
        missing.append("a health route (/healthz, /health, /api/health, /status) in the sources")
    if d.port:
        found.append(("port", f"{d.port.value} in {d.port.source}"))
    if d.app_log:
        found.append(("app log", f"{d.app_log.value} ({d.app_log.source})"))
    else:
        missing.append("an app log (*.log, *.jsonl, *.ndjson under logs/, log/ or var/log/)")
    if d.compose_file:
        found.append(("compose file", d.compose_file))
    else:
        missing.append("a compose file (docker-compose.yml, compose.yml)")
    if not d.k6:
        missing.insert(0, "a k6 script (a .js/.ts/.mjs file importing from 'k6')")
    if not d.artillery:
        missing.insert(0, "an Artillery YAML (config: and scenarios: at the top level)")
    return ([f"  found      {what:<15} {detail}" for what, detail in found]
            + [f"  not found  {what}" for what in missing])


def todo_lines(d: Discovery) -> list[str]:
    port = f"guessed from {d.port.source}" if d.port else "a guess"
    todo = [f"cp {ENV_EXAMPLE} .env.performance, then fill in PERF_DATABASE_URL (and PERF_API_TOKEN "
            f"if endpoints need one); check PERF_BASE_URL={base_url(d)} ({port})"]
    svc = d.service
    if svc:
        todo.append(f"check that `{svc.start_command}` in {svc.working_dir}/ starts the backend "
                    "(perfdash runs it there when the backend is not answering)")
        if not svc.stop_command:
            todo.append(f"add a \"stop\" script to {svc.package_json}, or a stop_command, if perfdash "
                        "did not start the backend itself")
    else:
        todo.append("set start_command and stop_command in [environments.local] if perfdash should "
                    "start and stop the backend")
    if not d.health:
        todo.append('check health_path = "/health": the backend should answer 200 there')
    if not d.app_log:
        todo.append("set app_log to the backend's log file to see its ERROR and WARN lines live")
    if d.k6:
        s = d.k6[0]
        names = [n for n, _ in s.env]
        urls = [n for n in names if n != "BASE_URL" and any(h in n for h in URL_HINTS)]
        if urls and "BASE_URL" not in names:
            todo.append(f"{s.path} reads __ENV.{urls[0]}, not BASE_URL: uncomment env in "
                        f"[profiles.smoke.k6] and set {urls[0]} there")
        if not s.default_function and not s.scenarios:
            todo.append(f"{s.path} has neither `export default function` nor options.scenarios: "
                        "point [profiles.smoke.k6] script at the test itself")
    if d.artillery and not d.artillery[0].phases:
        todo.append(f"{d.artillery[0].path} has no config.phases: uncomment phases (or environment) "
                    "in [profiles.smoke.artillery]")
    if d.artillery_bin:
        todo.append(f"Artillery is a project dependency: run npm install, and uncomment "
                    f"artillery = \"{d.artillery_bin}\" in [environments.local] to use that one")
    todo += ["perfdash doctor --env local", "perfdash run --profile smoke --env local"]
    return [f"  {i}. {item}" for i, item in enumerate(todo, 1)]


def init_project(project: Path, force: bool, out: Callable[[str], None] = print) -> int:
    """Discover, report and write; raises InitError (nothing written) when it cannot go on."""
    if not project.is_dir():
        raise InitError(f"{project} is not a directory; pass --project DIR of your backend project")
    targets = [project / PROFILES, project / ENV_EXAMPLE]
    existing = [t.name for t in targets if t.exists()]
    if existing and not force:
        raise InitError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''} "
                        f"in {project}; pass --force to overwrite (nothing was written)")
    d = discover(project)
    out(f"perfdash init: looked through {project}")
    for line in found_lines(d):
        out(line)
    if not d.k6 and not d.artillery:
        raise InitError(
            f"no k6 script (a .js/.ts/.mjs file importing from 'k6') and no Artillery YAML (config: "
            f"and scenarios: at the top level) under {project}, and perfdash runs your own suites; "
            "add one, or run perfdash init in the project that holds them (nothing was written)")
    targets[0].write_text(render_profiles(d), encoding="utf-8")
    targets[1].write_text(render_env_example(d), encoding="utf-8")
    out(f"wrote {PROFILES} and {ENV_EXAMPLE}" + (" (overwritten)" if existing else ""))
    missing = gitignore_missing(project / ".gitignore")
    if missing:
        add_to_gitignore(project / ".gitignore", missing)
        out(f"added {' and '.join(missing)} to .gitignore")
    elif not d.gitignore:
        out("no .gitignore: keep .env.performance and results/ out of version control")
    out("still to do:")
    for line in todo_lines(d):
        out(line)
    return 0
