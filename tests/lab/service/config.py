"""The lab's settings, from its own environment variables (LAB_*), read once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Every planted problem by name; LAB_PATHOLOGIES switches each on (see tests/lab/README.md).
# `all` is the first group (the database-and-application story the diagnosis tells as one);
# `catalogue` the second (what pg_stat_database, the process and the access log count).
ALL = ("lock", "pool", "nplus1", "expr", "composite", "flaky", "cpu")
CATALOGUE = ("deadlock", "spill", "churn", "leak", "throttle", "slowdep")
PATHOLOGIES = ALL + CATALOGUE
DEFAULT_PORT = 8300


class ConfigError(ValueError):
    """A LAB_* variable is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    db_url: str
    port: int
    log_dir: Path
    pathologies: frozenset[str]

    def has(self, name: str) -> bool:
        assert name in PATHOLOGIES, name
        return name in self.pathologies

    @property
    def label(self) -> str:
        if not self.pathologies:
            return "clean"
        return ",".join(p for p in PATHOLOGIES if p in self.pathologies)


def parse_pathologies(raw: str) -> frozenset[str]:
    words = [w.strip().lower() for w in raw.split(",") if w.strip()]
    if not words or words == ["clean"]:
        return frozenset()
    if words == ["all"]:
        return frozenset(ALL)
    if words == ["catalogue"]:
        return frozenset(CATALOGUE)
    unknown = [w for w in words if w not in PATHOLOGIES]
    if unknown:
        raise ConfigError(f"LAB_PATHOLOGIES names unknown problems {unknown}; use `clean`, `all`, "
                          "`catalogue` or a "
                          f"comma list of {', '.join(PATHOLOGIES)}.")
    return frozenset(words)


def from_env(environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    db_url = env.get("LAB_DB_URL", "")
    if not db_url:
        raise ConfigError("LAB_DB_URL is not set; set it to postgresql://user:password@127.0.0.1:5432/lab.")
    port_raw = env.get("LAB_PORT", str(DEFAULT_PORT))
    if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
        raise ConfigError(f"LAB_PORT={port_raw!r} is not a TCP port; set it to a number such as 8300.")
    return Config(db_url=db_url, port=int(port_raw),
                  log_dir=Path(env.get("LAB_LOG_DIR", "var/log")),
                  pathologies=parse_pathologies(env.get("LAB_PATHOLOGIES", "clean")))
