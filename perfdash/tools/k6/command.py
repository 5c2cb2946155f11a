"""The `k6 run` command a profile implies, for any k6 script, unedited.

Without profile stages the script's own options (scenarios, stages, vus/duration) run; with them,
`--stage` outranks the script. Profile thresholds go in a `--config` file (below the script's own
options in k6's precedence), `[k6] env` becomes `-e KEY=value`, and the environment's base URL
reaches the script as `-e BASE_URL=...` and under every other name the script reads its base from
(`API_URL`, `TARGET`, ...: perfdash.tools.k6.baseurl), unless the profile sets that name itself,
so the URL is written once, in the environment. The API token
travels in the child's environment only, never on a command line that `ps` or a log could show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdash.artifacts import read_json, write_json_atomic
from perfdash.settings import Profile
from perfdash.thresholds import parse_rule
from perfdash.tools.k6.baseurl import base_url_env

TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"


CONFIG_FILE = "k6-config.json"


def config_path(run_dir: Path) -> Path:
    return run_dir / CONFIG_FILE


def read_config(run_dir: Path) -> dict[str, Any] | None:
    """The k6 config the run wrote (the thresholds k6 runs with); None while it is not written yet,
    {} when it cannot be read as a JSON object."""
    path = config_path(run_dir)
    if not path.exists():
        return None
    data, _ = read_json(path)
    return data if isinstance(data, dict) else {}


def p95_limit(config: object) -> float | None:
    """The tightest untagged `http_req_duration` p(95) upper limit in a k6 config, in ms."""
    thresholds = config.get("thresholds") if isinstance(config, dict) else None
    rules = thresholds.get("http_req_duration") if isinstance(thresholds, dict) else None
    limits = []
    for rule in rules if isinstance(rules, list) else []:
        text = rule.get("threshold") if isinstance(rule, dict) else rule
        parsed = parse_rule(text) if isinstance(text, str) else None
        if parsed is not None and parsed.stat == "p(95)" and parsed.op in ("<", "<="):
            limits.append(parsed.value)
    return min(limits) if limits else None


def config_p95_limit(run_dir: Path) -> float | None:
    """The live chart's p95 limit: from the thresholds k6 runs with (the script's own plus the
    profile's), as the run wrote them before k6 started."""
    return p95_limit(read_config(run_dir))


def write_config(profile: Profile, run_dir: Path) -> Path:
    thresholds: dict[str, list[str]] = {}
    for t in profile.thresholds_for("k6"):
        thresholds.setdefault(t.metric, []).append(t.expression)
    path = config_path(run_dir)
    write_json_atomic(path, {"thresholds": thresholds})
    return path


def env_args(profile: Profile, base_url: str | None) -> list[str]:
    values = dict(profile.k6_env)
    if base_url:
        for key, value in base_url_env(profile.k6_script, base_url).items():
            values.setdefault(key, value)
    return [a for key, value in values.items() for a in ("-e", f"{key}={value}")]


def stage_args(profile: Profile) -> list[str]:
    return [a for s in profile.k6_stages for a in ("--stage", f"{s.duration}:{s.target}")]


def run_argv(k6: Path, profile: Profile, run_dir: Path, base_url: str | None,
             api_port: int) -> list[str]:
    assert profile.k6_script is not None
    return [
        str(k6), "run", "--no-usage-report", "--no-color", "--quiet",
        "--config", str(config_path(run_dir)),
        *stage_args(profile),
        *env_args(profile, base_url),
        "--summary-export", str(run_dir / f"k6-{profile.name}.json"),
        "--summary-trend-stats", TREND_STATS,
        "--address", f"127.0.0.1:{api_port}",
        str(profile.k6_script),
    ]
