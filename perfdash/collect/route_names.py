"""One name per endpoint, whoever names it: the backend's log, k6 or Artillery.

`/api/accounts/42?x=1`, `/api/accounts/${id}` and `/api/accounts/:id` are the same endpoint, and
the endpoint table, the access-log counter and the timeline's per-group server latency all need them
to meet under one key (`/api/accounts/{}`), else one endpoint shows up as thousands of rows.
"""

from __future__ import annotations

import re

_QUERY = re.compile(r"[?#].*$")
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]*", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\$\{[^}]*\}|\{[^}/]*\}|(?<=/):[A-Za-z_][A-Za-z0-9_]*")
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})(?=/|$)")


def normalise_route(raw: str) -> str:
    """One key for the same endpoint named by a log, k6 or Artillery.

    Origin and query string dropped; `{{ var }}`, `${expr}`, `{var}` and `:var` placeholders and
    path segments that are ids (digits, UUIDs, long hex) become `{}`; trailing slash dropped.
    """
    path = _QUERY.sub("", _ORIGIN.sub("", raw.strip()))
    path = _TEMPLATE.sub("{}", path)
    path = _ID_SEGMENT.sub("{}", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"
