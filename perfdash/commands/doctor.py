"""`perfdash doctor`: every pre-run checklist item (tools, settings, scripts, reachability), each
with its fix, without starting a run. Plain `perfdash doctor` checks the smoke profile on the demo.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_COULD_NOT_RUN, EXIT_USAGE, error, load_settings_for


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser("doctor", help="check tools, settings and reachability; suggest fixes")
    common(parser)
    parser.add_argument("--env", dest="environment", default=None,
                        help="check this environment's backend and database (default: demo, "
                             "when profiles.toml has it)")
    parser.add_argument("--profile", default=None,
                        help="also check this profile's scripts (without it: the environment "
                             "and the tools alone; plain `perfdash doctor` checks smoke on demo)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import tempfile

    from perfdash.run.preflight import run_preflight
    from perfdash.settings import SettingsError
    from perfdash.tools.base import Target

    loaded = load_settings_for(args)
    if loaded is None:
        return EXIT_USAGE
    settings, env_file = loaded
    print(f"settings: {settings.config_file} (profiles: {', '.join(settings.profiles)}; "
          f"environments: {', '.join(settings.environments)})")
    env_name = args.environment or ("demo" if "demo" in settings.environments
                                     else next(iter(settings.environments)))
    profile_name = args.profile or (
        "smoke" if args.environment is None and "smoke" in settings.profiles else None)
    try:
        profile = settings.profile(profile_name) if profile_name else None
        env = settings.environment(env_name)
    except SettingsError as exc:
        error(str(exc))
        return EXIT_USAGE
    print(f"environment: {env.name}" + (f"; profile: {profile.name}" if profile else
                                         " (no --profile: the environment and the tools alone)"))
    if env.kind == "demo":
        from perfdash.demo.pgcluster import ClusterError, find_pg_bin

        try:
            print(f"[ok  ] PostgreSQL server binaries: {find_pg_bin()}")
        except ClusterError as exc:
            print(f"[FAIL] PostgreSQL server binaries: {exc}")
    target = Target(env.base_url, env.database_url, env.api_token)
    if env.kind == "demo":  # the demo makes its URL and token when it starts: stand-ins for now
        from perfdash.secret import Secret

        target = Target("http://127.0.0.1:9", None, Secret("doctor-stand-in-token"))
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.results_dir, prefix=".doctor-") as tmp:
        results = run_preflight(profile, env, target, Path(tmp), settings.project_dir, env_file,
                                start_when_down=True)
    failed = 0
    for r in results:
        if env.kind == "demo" and r.name in ("backend reachable", "Socket.IO endpoint",
                                             "database reachable"):
            continue  # the demo starts its own backend and database
        mark = {"pass": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}[r.status]
        print(f"[{mark}] {r.name}: {r.detail}" + (f" -> {r.fix}" if r.fix and r.status in
                                                   ("warn", "fail") else ""))
        failed += r.status == "fail"
    return EXIT_COULD_NOT_RUN if failed else 0
