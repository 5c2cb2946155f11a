"""What the generators' launcher and the merge share: the spec of one split run (written to the run
directory), the generators' names and where their own summaries go, and the environment of k6's
Prometheus remote-write output."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfdash.artifacts import write_json_atomic

SPEC_NAME = "k6-generators.json"
# The run's secrets for the launcher's redactor (a JSON list), in its environment like the token:
# never in the spec, which is a file of the run directory, nor in the generators' environment.
SECRETS_ENV = "PERFDASH_REDACT_SECRETS"
PUSH_INTERVAL = "1s"


def rw_env(prometheus_url: str) -> dict[str, str]:
    """k6's Prometheus remote-write output: trends as native histograms, pushed every second."""
    return {"K6_PROMETHEUS_RW_SERVER_URL": prometheus_url.rstrip("/") + "/api/v1/write",
            "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "true",
            "K6_PROMETHEUS_RW_PUSH_INTERVAL": PUSH_INTERVAL}


def summary_path(run_dir: Path, profile: str, index: int) -> Path:
    return run_dir / f"k6-{profile}.{generator_name(index)}.json"


def generator_name(index: int) -> str:
    return f"gen-{index + 1}"


@dataclass(frozen=True)
class Spec:
    """What the launcher process needs; written to the run directory as SPEC_NAME."""

    profile: str
    run_dir: str
    cwd: str
    testid: str
    prometheus_url: str
    argvs: list[list[str]]
    env: dict[str, str]  # non-secret variables only; the token comes through the environment
    thresholds: list[dict[str, Any]]
    started_at: float = 0.0

    def write(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))

    @staticmethod
    def read(path: Path) -> Spec:
        return Spec(**json.loads(path.read_text(encoding="utf-8")))
