"""The `perfdash` command: parses flags, loads settings, and hands the run to a consumer.

Kept free of heavy imports at module level so `perfdash --help` answers quickly; each command
imports what it needs. Exit codes: 0 pass, 1 thresholds breached, 2 usage or configuration error,
3 the run could not be carried out, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:

    from perfdash.events import Bus
    from perfdash.run.orchestrator import Orchestrator
    from perfdash.settings import Environment, Settings

from perfdash.commands.common import (
    EXIT_COULD_NOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    add_refresh_flag,
    step_summary,
)
from perfdash.commands.common import console as _console
from perfdash.commands.common import error as _error
from perfdash.commands.common import load_settings_for as _load

DESCRIPTION = """\
The cockpit for a performance-test run: preflight, k6 and Artillery against your backend, live
system/log/database telemetry, and one verdict with every artifact under results/perf/<timestamp>/.
"""

EPILOG = """\
exit codes: 0 pass, 1 thresholds breached, 2 usage or configuration error,
            3 the run could not be carried out, 130 interrupted

examples:
  perfdash demo                                  the whole suite against the bundled demo backend
  perfdash run --profile load --env local        your backend (settings in .env.performance)
  perfdash run --profile smoke --env local --headless   same, plain output for CI
  perfdash show results/perf/20261125T101500Z    the verdict of an earlier run
  perfdash doctor                                every pre-run checklist item, each with a fix
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfdash", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="perfdash 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--project", type=Path, default=None,
                       help="directory holding profiles.toml (default: this directory or the "
                            "nearest parent that has one)")
        p.add_argument("--config", type=Path, default=None, help="profiles.toml to read")
        p.add_argument("--env-file", type=Path, default=None,
                       help=".env.performance to read (default: in the project directory)")
        p.add_argument("--results-dir", type=Path, default=None,
                       help="where run directories go (default: [defaults] results_dir, "
                            "results/perf)")

    run = sub.add_parser(
        "run", help="run a profile against an environment",
        description="Preflight, seed, run k6 and Artillery, collect telemetry, interpret. On a "
                    "terminal it opens the live dashboard, which switches to the result view "
                    "when the run ends; --headless (or no terminal) prints instead.")
    common(run)
    run.add_argument("--profile", required=True, help="profile from profiles.toml (e.g. smoke)")
    run.add_argument("--env", required=True, dest="environment",
                     help="environment from profiles.toml (e.g. local, demo)")
    run.add_argument("--headless", action="store_true",
                     help="no dashboard: live status on a terminal, plain lines in CI")
    run.add_argument("--skip-cleanup", action="store_true",
                     help="keep generated data and started services for inspection")
    run.add_argument("--verbose", action="store_true", help="print detailed progress logs")
    run.add_argument("--baseline", metavar="DIR|last|auto", default=None,
                     help="compare with an earlier run (a results directory, `last`: the newest "
                          "finished run of the same profile, or `auto`: every run of the profile "
                          "and environment since the last change point, pooled); the profile's "
                          "[baseline] says whether a regression fails the run")
    add_refresh_flag(run)

    demo = sub.add_parser(
        "demo", help="run a profile against the bundled demo backend on a throwaway PostgreSQL",
        description="Starts PostgreSQL and the demo backend, runs the profile (smoke by default) "
                    "in the live dashboard (or headless), stops everything.")
    common(demo)
    demo.add_argument("--profile", default="smoke", help="profile to run (default: smoke)")
    demo.add_argument("--headless", action="store_true", help="no dashboard")
    demo.add_argument("--verbose", action="store_true", help="print detailed progress logs")
    demo.add_argument("--baseline", metavar="DIR|last|auto", default=None,
                      help="compare with an earlier run (a results directory, `last`, or `auto`: "
                           "the runs since the last change point, pooled)")
    add_refresh_flag(demo)

    from perfdash.commands import register_all

    register_all(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from perfdash.run import signals  # the one signal policy (light: signal and os only)

    previous = signals.install()  # SIGINT, SIGTERM, SIGHUP: also over an inherited SIG_IGN
    try:
        if args.command in ("run", "demo"):
            return _cmd_run(args)
        handler = getattr(args, "handler", None)
        if handler is not None:  # a command from perfdash/commands/
            return int(handler(args))
    except (KeyboardInterrupt, signals.Interrupted):
        _error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        signals.restore(previous)
    parser.print_help()
    return EXIT_USAGE


def _cmd_run(args: argparse.Namespace) -> int:
    from perfdash.artifacts import ArtifactError
    from perfdash.console import HeadlessConsole, result_table
    from perfdash.events import Bus
    from perfdash.run.orchestrator import Orchestrator
    from perfdash.serve.runserve import serving  # --serve: the run's events over HTTP
    from perfdash.settings import SettingsError, require_external_env

    loaded = _load(args)
    if loaded is None:
        return EXIT_USAGE
    settings, env_file = loaded
    env_name = "demo" if args.command == "demo" else args.environment
    try:
        profile = settings.profile(args.profile)
        env = settings.environment(env_name)
        require_external_env(env, env_file)
    except SettingsError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if args.command == "demo" and env.kind != "demo":
        _error("the environment 'demo' in profiles.toml must have kind = \"demo\"")
        return EXIT_USAGE
    baseline = None
    if args.baseline:
        from perfdash.analyze.baseline import BaselineError, resolve_baseline

        try:
            baseline = resolve_baseline(args.baseline, settings.results_dir, profile.name,
                                        environment=env.name)
        except BaselineError as exc:
            _error(str(exc))
            return EXIT_USAGE
    out = _console()
    bus = Bus()
    dashboard = not args.headless and sys.stdin.isatty() and sys.stdout.isatty()
    orch = Orchestrator(settings, profile, env, bus, env_file=env_file,
                        skip_cleanup=getattr(args, "skip_cleanup", False), baseline=baseline,
                        verbose=(lambda m: out.print(f"[dim]{m}[/dim]", markup=True))
                        if args.verbose and not dashboard else None)
    with serving(getattr(args, "serve", None), bus, env_file, _error) as serve_ok:
        if not serve_ok:  # `--serve HOST:PORT` could not listen (said why)
            return EXIT_USAGE
        if dashboard:
            return _run_dashboard(orch, bus, settings, env, args.refresh)
        if not args.headless:
            out.print("[dim]no terminal: using the headless output[/dim]")
        console = HeadlessConsole(bus, out, verbose=args.verbose)
        console.start()
        try:
            outcome = orch.run()
        except ArtifactError as exc:
            console.stop()
            _error(str(exc))
            return EXIT_COULD_NOT_RUN
        console.stop()
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
                _console().print(result_table(summary))
            print(f"results: {outcome.paths.root}")
        except OSError:  # the terminal is gone (closed: SIGHUP); the run's files say it all
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - until exit
        if summary is not None:  # the verdict just printed, on the CI job's page as well
            step_summary(summary, outcome.paths.root, lambda: orch.secrets)
    elif app.run_error is not None:
        _error(f"the run stopped with an error: {app.run_error}")
    return int(code if code is not None else EXIT_COULD_NOT_RUN)
