"""`perfdash init`: a first profiles.toml and .env.performance.example for an existing backend project.

New users arrive with their own k6 scripts, Artillery files and a backend started by `make start`,
`npm run start` or `docker compose up -d`;
writing the settings by hand means learning the schema first. `init` reads the project (never runs
anything in it), writes settings that run the scripts as they are, and prints what it found, with
paths, and what is still to check, because a guess that is shown can be corrected in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perfdash.init.discover import HEALTH_ROUTES, Discovery, discover
from perfdash.init.write import (
    add_to_gitignore,
    base_url,
    gitignore_missing,
    render_env_example,
    render_profiles,
)

PROFILES = "profiles.toml"
ENV_EXAMPLE = ".env.performance.example"

class InitError(Exception):
    """Why init wrote nothing, as one sentence for the user."""


def _suite_lines(d: Discovery) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for s in d.k6:
        reads = ", ".join(f"__ENV.{n}" for n, _ in s.env)
        shape = [n for n, on in (("default function", s.default_function), ("scenarios", s.scenarios),
                                 ("stages", s.stages), ("thresholds", s.thresholds)) if on]
        if not s.runnable:
            shape.append("no default function and no scenarios: a shared module?")
        if s.negative:
            shape.append(f"a negative test: {s.negative}")
        found.append(("k6 script", f"{s.path} ({', '.join(shape)}"
                                   f"{'; reads ' + reads if reads else ''})"))
    for a in d.artillery:
        shape = [n for n, on in (("phases", a.phases), ("ensure", a.ensure)) if on]
        if a.environments:
            shape.append("environments: " + ", ".join(a.environments))
        if a.plugins:
            shape.append("plugins: " + ", ".join(a.plugins))
        if a.negative:
            shape.append(f"a negative test: {a.negative}")
        if a.config:
            shape.append(f"runs with --config {a.config}")
        found.append(("Artillery YAML", f"{a.path} ({'; '.join(shape) or 'no phases'})"))
    return found


def found_lines(d: Discovery) -> list[str]:
    """What was found, one line per item with its path, and what was not."""
    found = _suite_lines(d)
    missing: list[str] = []
    if d.service:
        svc = d.service
        found.append(("backend", f"{svc.start_why}: start `{svc.start_command}`, stop "
                                 f"{f'`{svc.stop_command}`' if svc.stop_command else '(no stop command)'}"))
        found += [("also", f"{o.start_why}: `{o.start_command}`") for o in d.other_services]
    else:
        missing.append("a start command (Makefile start target, package.json or pyproject start script, "
                       "a compose file that builds the app, a Procfile web line)")
    if d.health:
        found.append(("health route", f"{d.health.value} in {d.health.source}"))
    else:
        missing.append("a health route (" + ", ".join(HEALTH_ROUTES) + ") in the sources")
    if d.port.port:
        agree = f"; also {len(d.port.agree)} more place(s) agree" if d.port.agree else ""
        found.append(("port", f"{d.port.port} from {d.port.source}{agree}"))
        found += [("port conflict" if d.port.conflict else "port note", why) for why in d.port.disagree]
    else:
        missing.append("a port (start command, Makefile, compose ports, .env, code default, load scripts)")
    for log in (d.app_log, d.access_log):
        if log:
            state = "" if log.exists else ", not written yet"
            found.append((f"{log.kind} log", f"{log.path} ({log.why}{state})"))
    if not d.app_log and not d.access_log:
        missing.append("an app log (logging handlers, --access-logfile/--error-logfile, LOG_DIR, or *.log "
                       "under logs/)")
    if d.compose_file:
        found.append(("compose file", d.compose_file))
    if not d.k6:
        missing.insert(0, "a k6 script (a .js/.ts/.mjs file importing from 'k6')")
    if not d.artillery:
        missing.insert(0, "an Artillery YAML (config: and scenarios: at the top level)")
    return ([f"  found      {what:<15} {detail}" for what, detail in found]
            + [f"  not found  {what}" for what in missing])


def todo_lines(d: Discovery) -> list[str]:
    port = (f"port from {d.port.source}" if d.port.port
            else "a placeholder: nothing in the project names a port")
    todo = [f"cp {ENV_EXAMPLE} .env.performance, then fill in PERF_DATABASE_URL (and PERF_API_TOKEN "
            f"if endpoints need one); check PERF_BASE_URL={base_url(d)} ({port})"]
    if d.port.conflict:
        todo.append("the project names more than one port (see .env.performance.example): check "
                    f"that {d.port.port} is the one the backend listens on")
    svc = d.service
    if svc:
        todo.append(f"check that `{svc.start_command}` in {svc.working_dir}/ starts the backend "
                    "(perfdash runs it there when the backend is not answering)")
        if not svc.stop_command:
            todo.append(f"add a stop command to {svc.source}, or a stop_command, if perfdash "
                        "did not start the backend itself")
    else:
        todo.append("set start_command and stop_command in [environments.local] if perfdash should "
                    "start and stop the backend")
    if not d.health:
        todo.append('check health_path = "/health": the backend should answer 200 there')
    if not d.app_log and not d.access_log:
        todo.append("set app_log to the backend's log file to see its ERROR and WARN lines live")
    k6 = d.main_k6 or next((s for s in d.k6 if s.negative is None), None)
    if k6 and not k6.runnable:
        todo.append(f"{k6.path} has neither `export default function` nor options.scenarios: "
                    "point [profiles.smoke.k6] script at the test itself")
    art = d.main_artillery
    if art and not art.phases:
        todo.append(f"{art.path} has no config.phases: uncomment phases (or environment) "
                    "in [profiles.smoke.artillery]")
    if d.artillery_bin:
        todo.append(f"Artillery is a project dependency: run npm install, and uncomment "
                    f"artillery = \"{d.artillery_bin}\" in [environments.local] to use that one")
    todo += ["perfdash doctor --env local"]
    if k6 or art:
        todo.append("perfdash run --profile smoke --env local")
    else:
        todo.append("only negative tests were found: their profiles are written uncommented; run one with "
                    "perfdash run --profile <name> --env local (its verdict is FAIL by design)")
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
