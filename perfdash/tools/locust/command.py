"""The headless `locust` command a profile implies, the locustfile unedited.

Statistics go to CSV (`--csv <run_dir>/locust-<profile>`): `_stats.csv` per request name at the end,
`_stats_history.csv` one aggregated row a second while it runs (what the progress tail follows),
`_failures.csv` the failures by message. `--only-summary` keeps the per-second tables out of the
stdout log. Locust exits 1 for any failed request by default, the same code as a locustfile that
does not load; `--exit-code-on-error 3` keeps them apart (measured with Locust 2.47.0), and the
failure ratio is then judged by perfdash's check against the profile's `check_fail_ratio`.
Locust writes a history row every second but flushes the file only every 5 s; a second "locustfile"
perfdash writes into the run directory (`-f yours.py,<run_dir>/locust_flush_every_second.py`, no
User class of its own) sets that flush to every second, so the live panes and the timeline move each
second. The user's locustfile is untouched.
Headless Locust serves nothing: no web UI, no master port, so nothing listens beyond loopback.
"""

from __future__ import annotations

from pathlib import Path

from perfdash.tools.locust.table import LocustOptions

FAILED_REQUESTS_EXIT = 3
FLUSH_HELPER = "locust_flush_every_second.py"
_FLUSH_SOURCE = ("# written by perfdash for one run: Locust's CSV history reaches the disk every second\n"
                 "import locust.stats\n\nlocust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 1\n")


def write_flush_helper(run_dir: Path) -> Path:
    path = run_dir / FLUSH_HELPER
    path.write_text(_FLUSH_SOURCE, encoding="utf-8")
    return path


def csv_prefix(run_dir: Path, profile_name: str) -> Path:
    return run_dir / f"locust-{profile_name}"


def run_argv(locust: Path, options: LocustOptions, run_dir: Path, profile_name: str,
             base_url: str | None, flush_helper: Path | None = None) -> list[str]:
    """`flush_helper`: the file `write_flush_helper` wrote (None: Locust's own 5 s flush; also when
    the locustfile's path holds a comma, which Locust's -f would split)."""
    host = options.host or base_url
    files = str(options.locustfile)
    if flush_helper is not None and "," not in files + str(flush_helper):
        files += f",{flush_helper}"
    return [
        str(locust), "-f", files, "--headless",
        "-u", str(options.users), "-r", f"{options.spawn_rate:g}", "-t", options.run_time,
        *(["--host", host] if host else []),
        "--csv", str(csv_prefix(run_dir, profile_name)), "--only-summary",
        "--exit-code-on-error", str(FAILED_REQUESTS_EXIT),
        *options.user_classes,
    ]


def child_env() -> dict[str, str]:
    # unbuffered: its log lines reach locust.stderr.log as they happen, and survive a kill
    return {"PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
