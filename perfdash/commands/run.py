"""`perfdash run --profile P --env E`: the whole suite against your backend (and, through `demo`,
against the bundled one): preflight, seed, k6 and Artillery, telemetry, one verdict.

On a terminal the live dashboard carries the run and switches to the result view at its end;
--headless (or no terminal) prints the console's lines and the result table instead. Either way the
verdict is printed last, so it stays in the scrollback and the CI log.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from perfdash.commands import Common
from perfdash.commands.common import (
    EXIT_COULD_NOT_RUN,
    EXIT_USAGE,
    add_refresh_flag,
    console,
    error,
    load_settings_for,
    step_summary,
)
from perfdash.serve.runserve import add_serve_flag

if TYPE_CHECKING:
    from perfdash.events import Bus
    from perfdash.run.orchestrator import Orchestrator
    from perfdash.settings import Environment, Settings


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "run", help="run a profile against an environment",
        description="Preflight, seed, run k6 and Artillery, collect telemetry, interpret. On a "
                    "terminal it opens the live dashboard, which switches to the result view "
                    "when the run ends; --headless (or no terminal) prints instead.")
    common(parser)
    parser.add_argument("--profile", required=True, help="profile from profiles.toml (e.g. smoke)")
    parser.add_argument("--env", required=True, dest="environment",
                        help="environment from profiles.toml (e.g. local, demo)")
    parser.add_argument("--headless", action="store_true",
                        help="no dashboard: live status on a terminal, plain lines in CI")
    parser.add_argument("--skip-cleanup", action="store_true",
                        help="keep generated data and started services for inspection")
    parser.add_argument("--verbose", action="store_true", help="print detailed progress logs")
    parser.add_argument("--baseline", metavar="DIR|last|auto", default=None,
                        help="compare with an earlier run (a results directory, `last`: the newest "
                             "finished run of the same profile, or `auto`: every run of the profile "
                             "and environment since the last change point, pooled); the profile's "
                             "[baseline] says whether a regression fails the run")
    add_refresh_flag(parser)
    add_serve_flag(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfdash.artifacts import ArtifactError
    from perfdash.console import HeadlessConsole, result_table
    from perfdash.events import Bus
    from perfdash.run.orchestrator import Orchestrator
    from perfdash.serve.runserve import serving  # --serve: the run's events over HTTP
    from perfdash.settings import SettingsError, require_external_env

    loaded = load_settings_for(args)
    if loaded is None:
        return EXIT_USAGE
    settings, env_file = loaded
    env_name = "demo" if args.command == "demo" else args.environment
    try:
        profile = settings.profile(args.profile)
        env = settings.environment(env_name)
        require_external_env(env, env_file)
    except SettingsError as exc:
        error(str(exc))
        return EXIT_USAGE
    if args.command == "demo" and env.kind != "demo":
        error("the environment 'demo' in profiles.toml must have kind = \"demo\"")
        return EXIT_USAGE
    baseline = None
    if args.baseline:
        from perfdash.analyze.baseline import BaselineError, resolve_baseline

        try:
            baseline = resolve_baseline(args.baseline, settings.results_dir, profile.name,
                                        environment=env.name)
        except BaselineError as exc:
            error(str(exc))
            return EXIT_USAGE
    out = console()
    bus = Bus()
    dashboard = not args.headless and sys.stdin.isatty() and sys.stdout.isatty()
    orch = Orchestrator(settings, profile, env, bus, env_file=env_file,
                        skip_cleanup=getattr(args, "skip_cleanup", False), baseline=baseline,
                        verbose=(lambda m: out.print(f"[dim]{m}[/dim]", markup=True))
                        if args.verbose and not dashboard else None)
    with serving(args.serve, bus, env_file, error) as serve_ok:
        if not serve_ok:  # `--serve HOST:PORT` could not listen (said why)
            return EXIT_USAGE
        if dashboard:
            return _run_dashboard(orch, bus, settings, env, args.refresh)
        if not args.headless:
            out.print("[dim]no terminal: using the headless output[/dim]")
        shown = HeadlessConsole(bus, out, verbose=args.verbose)
        shown.start()
        try:
            outcome = orch.run()
        except ArtifactError as exc:
            shown.stop()
            error(str(exc))
            return EXIT_COULD_NOT_RUN
        shown.stop()
        out.print()
        out.print(result_table(outcome.summary))
        if baseline is not None and "baseline" in outcome.summary:
            from perfdash.analyze.compare import compare_runs
            from perfdash.analyze.compare_report import comparison_table

            out.print(comparison_table(compare_runs(baseline.runs, outcome.paths.root,
                                                    tolerance_pct=profile.regression_tolerance_pct)))
        out.print(f"results: {outcome.paths.root}")
        step_summary(outcome.summary, outcome.paths.root, lambda: orch.secrets)
        return outcome.exit_code


def _run_dashboard(orch: Orchestrator, bus: Bus, settings: Settings, env: Environment,
                   refresh_s: float) -> int:
    """The live dashboard runs the suite in a worker and switches to the result view at the end;
    after it closes, the verdict is printed once more so it stays in the terminal's scrollback."""
    from perfdash.data.cleanup import CleanupPlan, plan_cleanup
    from perfdash.ui.app import make_app

    def cleanup() -> CleanupPlan:  # planned only when the dialog opens (it reads the database)
        return plan_cleanup(env, env.database_url, cwd=settings.project_dir)

    app = make_app(bus=bus, run=orch.run, stop=orch.request_stop,
                   cleanup=cleanup if env.kind == "external" else None, refresh_s=refresh_s)
    code = app.run()
    from perfdash.run import signals

    signals.reinstall_shielded()  # asyncio reset the signals; what is left is only printing
    outcome = app.outcome
    if outcome is not None:
        code = outcome.exit_code  # the run's verdict, even if the screen itself failed
        from perfdash.analyze.summary import reanalyse
        from perfdash.console import result_table

        summary, _ = reanalyse(outcome.paths.root)
        try:
            if summary is not None:
                console().print(result_table(summary))
            print(f"results: {outcome.paths.root}")
        except OSError:  # the terminal is gone (closed: SIGHUP); the run's files say it all
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - until exit
        if summary is not None:  # the verdict just printed, on the CI job's page as well
            step_summary(summary, outcome.paths.root, lambda: orch.secrets)
    elif app.run_error is not None:
        error(f"the run stopped with an error: {app.run_error}")
    return int(code if code is not None else EXIT_COULD_NOT_RUN)
