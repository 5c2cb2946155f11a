"""`python -m service` (from tests/lab): the lab API under uvicorn on 127.0.0.1:LAB_PORT."""

from __future__ import annotations

import sys

import uvicorn

from . import logs
from .app import create_app
from .config import ConfigError, from_env


def main() -> int:
    try:
        cfg = from_env()
    except ConfigError as exc:
        print(f"lab-api: {exc}", file=sys.stderr)
        return 2
    logs.setup(cfg.log_dir)
    app = logs.AccessLog(create_app(cfg))
    uvicorn.run(app, host="127.0.0.1", port=cfg.port, access_log=False, log_config=None,
                lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
