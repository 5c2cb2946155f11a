"""Recordings from before every load tool spoke through `ToolProgressed`: their events.ndjson holds
`K6Progressed` and `ArtilleryProgressed` records. This is the one place they are read as today's
events: each tool declares its old event name and how its record maps (`LiveSpec.legacy`), and
`current_record` applies it, so replay, attach and serve show an old run as it was shown then.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from perfdash.tools import legacy_progress
from perfdash.tools.live import Legacy


@cache
def _legacy() -> dict[str, Legacy]:
    return legacy_progress()


def legacy_types() -> frozenset[str]:
    """The old event names a recording may hold."""
    return frozenset(_legacy())


def current_record(record: dict[str, Any]) -> dict[str, Any]:
    """`record` as today's record: an old tool event becomes the ToolProgressed it stands for (its
    `at` kept); any other record is returned as it is."""
    kind = record.get("type")
    convert = _legacy().get(kind) if isinstance(kind, str) else None
    if convert is None:
        return record
    return {"type": "ToolProgressed", "at": record.get("at"), **convert(record)}
