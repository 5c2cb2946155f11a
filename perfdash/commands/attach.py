"""`perfdash attach [RUN_DIR | latest | http://HOST:PORT]`: follow a run another process carries out.

Read-only: the live screen (or, with --headless, the console's plain lines) catches up on what the
run recorded so far and follows it to its verdict; q or Ctrl-C detaches and the run goes on.

`perfdash attach --prometheus URL --run-id ID` follows a k6 run that only Prometheus sees (a
k6-operator TestRun, generators started elsewhere) by its testid, as `watch` follows a hand-started
k6: live progress from the merged series, an observed run directory, and at the end (its series
still for --quiet-after seconds, or q) the merged result in it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.commands import Common
from perfdash.commands.common import (
    EXIT_COULD_NOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    REFRESH_S,
    add_refresh_flag,
    error,
)

if TYPE_CHECKING:
    from perfdash.follow.follower import Follower, FollowOutcome
    from perfdash.follow.observe import Observer
    from perfdash.follow.source import Source
    from perfdash.ui.app import PerfdashApp


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "attach", help="follow a run already going, here or served with run --serve (read-only)",
        description="Opens the live screen on a run another perfdash process is carrying out: "
                    "what it recorded so far, then what it records, then its result view. q "
                    "detaches and never stops the run. A run served with `perfdash run --serve "
                    "HOST:PORT` is followed over HTTP with the token it printed, in "
                    "PERFDASH_SERVE_TOKEN (the shell or .env.performance).")
    common(parser)
    parser.add_argument("target", nargs="?", default="latest",
                        metavar="RUN_DIR|latest|http://HOST:PORT",
                        help="a run directory, the newest running run (latest, the default), or "
                             "a served run's address")
    parser.add_argument("--headless", action="store_true",
                        help="plain lines instead of the dashboard (CI logs, a second terminal)")
    parser.add_argument("--prometheus", default=None, metavar="URL",
                        help="follow a k6 run through this Prometheus instead (with --run-id): "
                             "a k6-operator TestRun or generators started elsewhere")
    parser.add_argument("--run-id", default=None, metavar="ID",
                        help="the run's testid tag (k8s-manifest prints it)")
    parser.add_argument("--env", dest="environment", default=None,
                        help="with --prometheus: also watch this environment's host, app log and "
                             "database (default: k6 alone)")
    parser.add_argument("--quiet-after", type=float, default=None, metavar="SECONDS",
                        help="with --prometheus: the run has ended once its series have had no new "
                             "sample for this long (default 10)")
    add_refresh_flag(parser)
    parser.set_defaults(handler=run)


def _results_dir(args: argparse.Namespace) -> Path:
    if args.results_dir is not None:
        return Path(args.results_dir).resolve()
    from perfdash.commands.common import find_project
    from perfdash.settings import ENV_FILE_NAME, SettingsError, load_settings

    project = (args.project or find_project(Path.cwd())).resolve()
    try:
        return load_settings(project, args.config, args.env_file or project / ENV_FILE_NAME
                             ).results_dir
    except SettingsError:
        return Path.cwd() / "results" / "perf"


def _env_file(args: argparse.Namespace) -> Path:
    from perfdash.commands.common import find_project
    from perfdash.settings import ENV_FILE_NAME

    return Path(args.env_file or (args.project or find_project(Path.cwd())) / ENV_FILE_NAME)


def _source(args: argparse.Namespace) -> Source | None:
    target = str(args.target)
    if target.startswith(("http://", "https://")):
        import os

        from perfdash.serve.client import HttpSource
        from perfdash.serve.token import client_token

        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        host = target.split("://", 1)[1].strip("/").replace(":", "_").replace("/", "_")
        return HttpSource(target, client_token(_env_file(args)),
                          cache / "perfdash" / "attached" / host)
    from perfdash.follow.locate import NoRunError, resolve_run
    from perfdash.follow.source import LocalSource

    try:
        return LocalSource(resolve_run(target, _results_dir(args)))
    except NoRunError as exc:
        error(str(exc))
        return None


def run(args: argparse.Namespace) -> int:
    from perfdash.events import Bus
    from perfdash.follow.follower import HEADLESS_SHOWS, Follower

    if args.prometheus is not None or args.run_id is not None:
        return _by_prometheus(args)
    source = _source(args)
    if source is None:
        return EXIT_USAGE
    if args.headless:
        return _headless(Follower(source, Bus(), only=HEADLESS_SHOWS), source)
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from perfdash.commands.common import console

        console().print("[dim]no terminal: using the headless output[/dim]")
        return _headless(Follower(source, Bus(), only=HEADLESS_SHOWS), source)
    return _dashboard(source, args.refresh)


def _by_prometheus(args: argparse.Namespace) -> int:
    """Follow a k6 run by its testid in Prometheus, written as an observed run directory."""
    import sys

    from perfdash.commands.common import console
    from perfdash.console import HeadlessConsole, result_table
    from perfdash.events import Bus
    from perfdash.follow.observe import QUIET_S, Observer, PromTarget
    from perfdash.prom.client import PromClient
    from perfdash.secret import redact_url

    if not args.prometheus or not args.run_id:
        error("--prometheus and --run-id go together: pass the Prometheus the run writes to and "
              "its testid, e.g. --prometheus http://127.0.0.1:9090 --run-id 20261130T070000Z")
        return EXIT_USAGE
    if args.target not in (None, "", "latest"):
        error(f"{args.target}: --prometheus follows a run by its --run-id; leave out the run "
              "directory or address")
        return EXIT_USAGE
    quiet = QUIET_S if args.quiet_after is None else args.quiet_after
    if quiet <= 0:
        error(f"--quiet-after {quiet:g}: pass a number of seconds above 0")
        return EXIT_USAGE
    observer_args = observer_settings(args)
    if observer_args is None:
        return EXIT_USAGE
    settings, env, measure_host = observer_args
    problem = PromClient(args.prometheus, timeout_s=5).ready()
    if problem is not None:
        error(f"{redact_url(problem)}: start Prometheus or fix --prometheus (the URL the "
              "TestRun's K6_PROMETHEUS_RW_SERVER_URL points at, without /api/v1/write)")
        return EXIT_COULD_NOT_RUN
    bus = Bus()
    observer = Observer(settings, env, bus, measure_host=measure_host,
                        prometheus=PromTarget(args.prometheus, args.run_id, quiet))
    out = console()
    if not args.headless and sys.stdin.isatty() and sys.stdout.isatty():
        app = prometheus_dashboard(observer, args.refresh)
        code = app.run()
        if observer.paths is not None:
            print(_merged_line(observer.merged, args.run_id))
            print(f"observed: {observer.paths.root}")
        return int(code if code is not None else EXIT_COULD_NOT_RUN)
    shown = HeadlessConsole(bus, out)
    shown.start()
    outcome = observer.run(None)
    shown.stop()
    out.print()
    out.print(result_table(outcome.summary))
    out.print(_merged_line(observer.merged, args.run_id), markup=False, highlight=False)
    out.print(f"observed: {outcome.paths.root}", markup=False, highlight=False)
    return outcome.exit_code


def prometheus_dashboard(observer: Observer, refresh_s: float = REFRESH_S) -> PerfdashApp:
    """The live screen on an observer of a run followed through Prometheus: it ends by itself
    when the run's series stop (then the result view), or on q, which writes what was followed
    and never touches the run."""
    from perfdash.ui.app import make_app

    app = make_app(bus=observer.bus, run=lambda: observer.run(None), stop=observer.request_stop,
                   refresh_s=refresh_s)
    app.ends_on_quit = True
    return app


def _merged_line(merged: dict[str, Any] | None, testid: str) -> str:
    """One line of the merged result: the request count (and each generator's), the p95."""
    if merged is None:
        return f"k6 testid={testid}: no merged result (see the problems above)"
    metrics = merged["metrics"]
    requests = metrics.get("http_reqs", {}).get("count")
    p95 = metrics.get("http_req_duration", {}).get("p(95)")
    gens = merged["merged"].get("generators") or []
    parts = ", ".join(f"{g['name']} {int(g['requests'])}" for g in gens
                      if isinstance(g.get("requests"), int | float))
    error_pct = merged["merged"].get("relative_error")
    return (f"k6 testid={testid} merged from Prometheus: "
            f"{int(requests) if requests is not None else 'no'} requests"
            + (f" ({parts})" if parts else "")
            + (f", p95 {p95:.1f} ms" if isinstance(p95, int | float) else "")
            + (f" (±{error_pct:.1%})" if isinstance(error_pct, int | float) else ""))


def observer_settings(args: argparse.Namespace) -> tuple[Any, Any, bool] | None:
    """Settings (the results directory), the environment to watch beside the k6 run, and
    whether this machine's host is part of it: with --env, that environment as `watch` sees it;
    without, none (the run's generators are elsewhere, and so is its backend)."""
    from perfdash.commands.common import load_settings_for
    from perfdash.settings import Environment, Settings, SettingsError

    if args.environment is not None:
        loaded = load_settings_for(args)
        if loaded is None:
            return None
        try:
            env = loaded[0].environment(args.environment)
        except SettingsError as exc:
            error(str(exc))
            return None
        if env.kind == "demo":
            error("the demo environment exists only while `perfdash demo` runs it: pass an "
                  "external environment or leave out --env")
            return None
        return loaded[0], env, True
    results = _results_dir(args)
    project = Path(args.project or Path.cwd()).resolve()
    settings = Settings(project, project / "profiles.toml", results, {}, {})
    env = Environment("prometheus", "a k6 run followed through Prometheus", "external", None,
                      None, None, None, False, "/")
    return settings, env, False


def _dashboard(source: Source, refresh_s: float) -> int:
    from perfdash.events import Bus
    from perfdash.follow.follower import Follower
    from perfdash.ui.app import make_app

    made: list[Follower] = []

    def follower(bus: Bus) -> Follower:
        made.append(Follower(source, bus))
        return made[0]

    app = make_app(attach=follower, refresh_s=refresh_s)
    app.run()
    if app.detached or not made:
        print("detached; the run goes on")
        return 0
    return _conclude(made[0].outcome, source, print_result=False)


def _headless(follower: Follower, source: Source) -> int:
    from perfdash.commands.common import console
    from perfdash.console import HeadlessConsole
    from perfdash.run.signals import Interrupted

    out = console()
    shown = HeadlessConsole(follower.bus, out)
    shown.start()
    try:
        outcome = follower.run()
    except (KeyboardInterrupt, Interrupted):
        follower.stop()
        shown.stop()
        out.print("detached; the run goes on")
        return EXIT_INTERRUPTED
    shown.stop()
    return _conclude(outcome, source, print_result=True)


def _conclude(outcome: FollowOutcome | None, source: Source, *, print_result: bool) -> int:
    """The run's verdict when it finished (its exit code); one sentence and 3 when it did not
    (2 when the server refused this attacher: a token to fix, not a run that failed)."""
    from perfdash.commands.common import console

    refused = getattr(source, "refused", None)
    if isinstance(refused, str):
        error(refused)
        return EXIT_USAGE
    if outcome is None:
        return EXIT_COULD_NOT_RUN
    if outcome.how == "detached":
        print(outcome.message)
        return 0
    if outcome.how == "stopped":
        error(outcome.message)
        return EXIT_COULD_NOT_RUN
    out = console()
    local = getattr(source, "run_dir", None) is not None
    summary, problem = _stored_summary(outcome.summary_path)
    if local and outcome.summary_path and summary is None:
        # The directory's own summary is the run's result; a recording alone cannot stand in
        # for it (a copy whose summary.json broke would otherwise pass on the original's verdict).
        verdict = outcome.message.rsplit(": ", 1)[-1]
        error(f"{Path(outcome.summary_path).parent}: {problem}; the verdict its recording holds "
              f"({verdict}) is not taken without it (restore summary.json or run the suite again)")
        return EXIT_COULD_NOT_RUN
    if print_result and summary is not None:
        from perfdash.console import result_table

        out.print()
        out.print(result_table(summary))
    elif print_result and problem:
        out.print(f"[yellow]{problem}[/yellow]")
    if outcome.summary_path:
        print(f"results: {Path(outcome.summary_path).parent}")
    code = summary.get("exit_code") if summary is not None and local else outcome.exit_code
    return int(code if isinstance(code, int) else EXIT_COULD_NOT_RUN)


def _stored_summary(path: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The summary a finished run wrote, checked as `show` checks it, or (None, why not)."""
    if not path:
        return None, None
    from perfdash.artifacts import SummaryError, load_summary_file

    try:
        return load_summary_file(Path(path)).data, None
    except SummaryError as exc:
        return None, exc.reason
