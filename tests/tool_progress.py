"""k6's and Artillery's ToolProgressed for tests, built from the figures the tests name (as their
progress followers build them), so a test says `k6(vus=2, requests=40)` rather than field tuples."""

from __future__ import annotations

import time
from collections.abc import Mapping

from perfdash.events import ERROR_RATE, P50_MS, P95_MS, P99_MS, RPS, ToolProgressed
from perfdash.tools.artillery.live import (
    EMITS,
    ERRORS,
    SIO_P95_MS,
    SIO_P99_MS,
    VUSERS_COMPLETED,
    VUSERS_CREATED,
    VUSERS_FAILED,
)
from perfdash.tools.k6.progress import k6_progress


def k6(*, vus: int = 1, vus_max: int = 1, iterations: int = 0, requests: int = 0,
       req_per_s: float = 0.0, p95_ms: float | None = None, checks_rate: float | None = None,
       failed_rate: float | None = None, error_rate: float | None = None, tainted: bool = False,
       elapsed_s: float = 0.0, planned_s: float = 0.0, at: float | None = None) -> ToolProgressed:
    event = k6_progress(elapsed_s, planned_s, vus=vus, vus_max=vus_max, iterations=iterations,
                        requests=requests, rps=req_per_s, p95_ms=p95_ms, checks_rate=checks_rate,
                        failed_rate=failed_rate, error_rate=error_rate, tainted=tainted)
    return ToolProgressed(event.tool, event.elapsed_s, event.planned_s, event.fields,
                          at=time.time() if at is None else at)


def artillery(*, req_per_s: float = 0.0, http_p50_ms: float | None = None,
              http_p95_ms: float | None = None, http_p99_ms: float | None = None,
              socketio_p95_ms: float | None = None, socketio_p99_ms: float | None = None,
              socketio_emits: int = 0, errors: Mapping[str, int] | None = None,
              window_errors: float | None = None, error_rate: float | None = None,
              vusers_created: int = 0, vusers_completed: int = 0, vusers_failed: int = 0,
              elapsed_s: float = 0.0, planned_s: float = 0.0,
              at: float | None = None) -> ToolProgressed:
    counts = tuple(sorted((errors or {}).items(), key=lambda kv: (-kv[1], kv[0])))
    return ToolProgressed("artillery", elapsed_s, planned_s, (
        (RPS, req_per_s), (P50_MS, http_p50_ms), (P95_MS, http_p95_ms), (P99_MS, http_p99_ms),
        (SIO_P95_MS, socketio_p95_ms), (SIO_P99_MS, socketio_p99_ms),
        (ERRORS, window_errors), (ERROR_RATE, error_rate), (EMITS, float(socketio_emits)),
        (VUSERS_CREATED, float(vusers_created)), (VUSERS_COMPLETED, float(vusers_completed)),
        (VUSERS_FAILED, float(vusers_failed))), counts=counts,
        at=time.time() if at is None else at)
