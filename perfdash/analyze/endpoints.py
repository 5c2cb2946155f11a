"""Endpoints, joined: one row per endpoint (or Socket.IO) with what k6, Artillery and the backend's
own log measured of it, side by side, so client-side latency stands next to the server's.

How names from the three sources meet (one key per endpoint, `perfdash.collect.route_names.
normalise_route`):

1. A URL or URL template (an Artillery metrics-by-endpoint key, a k6 `name`/`url` tag that is a
   path or URL, a log route) is normalised: origin and query string dropped, `{{ var }}`,
   `${expr}`, `{var}` and `:var` placeholders and id segments (digits, UUIDs, long hex) become `{}`,
   a trailing slash dropped. `/api/catalog/{{ productId }}`, `/api/catalog/:id` and
   `/api/catalog/123` are all `/api/catalog/{}`.
2. A k6 tag value that is a bare name (`search`), whatever tag carries it (`name`, `endpoint`,
   `route`…), takes the URL of the Artillery request with the same `name` (its key is
   `url (name)`), else the URL of the k6 script's request call carrying that tag (read from the
   script when it is at hand: the call's URL, or its `name` tag when that is a path), else it
   stays a row of its own, `route:search`, joined with nothing.
3. k6 `group` rows are groups, not endpoints: they are shown as `group:<name>` and never joined.
4. The method is not part of the key (Artillery's and k6's per-endpoint metrics do not carry it).
5. Socket.IO is one row, `socket.io`: Artillery reports emits as one metric.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdash.analyze.server_groups import read_server_groups, server_groups_markdown, worst_seconds_line
from perfdash.artifacts import APPLOG_ENDPOINTS_JSON as ARTIFACT
from perfdash.artifacts import read_applog_endpoints
from perfdash.collect.latency_buckets import percentile
from perfdash.collect.route_names import normalise_route
from perfdash.tools import TOOLS, tools_for
from perfdash.tools.base import EndpointRow

SOURCES = ("k6", "artillery", "log")
_CALL = re.compile(r"\bhttp\.(?:get|post|put|patch|del|delete|head|options|request)\s*\(")
_URL_IN_CALL = re.compile(r"""[`'"](?:\$\{[^}]*\})?(/[^`'"\s]*)""")
_TAGS = re.compile(r"""\btags\s*:\s*\{((?:[^{}'"`]|'[^']*'|"[^"]*"|`[^`]*`)*)\}""")  # braces in quotes
_TAG_PAIR = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_]*)\s*:\s*[`'"]([^`'"]+)[`'"]""")


@dataclass
class Side:
    """One source's figures for one endpoint."""

    requests: int | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    errors: int | None = None
    status_5xx: int | None = None
    names: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "p50_ms": _r(self.p50), "p95_ms": _r(self.p95),
                "p99_ms": _r(self.p99), "errors": self.errors, "status_5xx": self.status_5xx,
                "names": self.names}


def _r(v: float | None) -> float | None:
    return round(v, 2) if v is not None else None


def script_names(text: str) -> dict[str, str]:
    """A k6 tag's value (any tag of a request call's `tags: {…}`) -> the URL path of that call,
    read from the script, or the call's `name` tag when that is a path: k6's own way to group
    URLs built from variables (`tags: { route: 'order', name: '/api/orders/{id}' }`)."""
    found: dict[str, str] = {}
    starts = [m.start() for m in _CALL.finditer(text)]
    for i, at in enumerate(starts):
        segment = text[at:starts[i + 1] if i + 1 < len(starts) else at + 800][:800]
        tags = _TAGS.search(segment)
        if tags is None:
            continue
        pairs = dict(_TAG_PAIR.findall(tags.group(1)))
        named = pairs.get("name", "")
        url = _URL_IN_CALL.search(segment)
        path = named if named.startswith("/") else url.group(1) if url else None
        if path is None:
            continue
        for value in pairs.values():
            found.setdefault(value, path)
    return found


def _key(row: EndpointRow, aliases: Mapping[str, str]) -> str:
    if row.kind == "socketio":
        return "socket.io"
    if row.tag == "group":
        return f"group:{row.name}"
    if row.url:
        return normalise_route(row.url)
    if row.name.startswith(("/", "http://", "https://")):
        return normalise_route(row.name)
    if row.name in aliases:
        return normalise_route(aliases[row.name])
    return f"{row.tag or 'name'}:{row.name}"


def _side(row: EndpointRow) -> Side:
    return Side(row.requests, row.p50, row.p95, row.p99, row.errors, row.status_5xx, [row.name])


def _merge(into: Side, row: EndpointRow) -> None:
    """Two rows of one tool on one key (a name tag and a url tag): counts add, and the
    percentiles are the busier row's (percentiles cannot be added)."""
    measured = any(v is not None for v in (row.p50, row.p95, row.p99))
    if measured and ((row.requests or 0) > (into.requests or 0)
                     or all(v is None for v in (into.p50, into.p95, into.p99))):
        into.p50, into.p95, into.p99 = row.p50, row.p95, row.p99
    for attr in ("requests", "errors", "status_5xx"):
        a, b = getattr(into, attr), getattr(row, attr)
        setattr(into, attr, b if a is None else a if b is None else a + b)
    into.names.append(row.name)


def log_sides(data: Mapping[str, Any]) -> dict[str, Side]:
    """Per route from `applog-endpoints.json`: errors are 5xx plus requests without a status."""
    sides = {}
    for route, r in (data.get("routes") or {}).items():
        if not isinstance(r, dict):
            continue
        by_class = r.get("by_class") or {}
        buckets = {int(b): int(n) for b, n in (r.get("buckets") or {}).items()}
        five = int(by_class.get("5xx", 0))
        sides[str(route)] = Side(int(r.get("count", 0)), percentile(buckets, 50),
                                 percentile(buckets, 95), percentile(buckets, 99),
                                 five + int(by_class.get("none", 0)), five, [str(route)])
    return sides


def join(k6: list[EndpointRow], artillery: list[EndpointRow], log: Mapping[str, Side],
         script_aliases: Mapping[str, str] | None = None,
         others: Mapping[str, list[EndpointRow]] | None = None) -> list[dict[str, Any]]:
    """The joined table, busiest endpoint first. `others`: the rows of every other load tool by its
    name, joined on the same keys (a URL, else the request's name) after k6's and Artillery's."""
    aliases = dict(script_aliases or {})
    for row in artillery:  # Artillery's `url (name)` keys name the same requests as k6's names
        if row.url and row.tag == "name":
            aliases.setdefault(row.name, row.url)
    table: dict[str, dict[str, Side]] = {}
    bare: dict[str, str] = {}  # a bare name under two tags (`name`, `endpoint`) is one endpoint
    tools = {"k6": k6, "artillery": artillery, **(others or {})}
    order = (*tools, "log")
    for source, rows in tools.items():
        for row in rows:
            key = _key(row, aliases)
            if key.split(":", 1)[-1] == row.name and not key.startswith(("/", "group:", "socket.io")):
                key = bare.setdefault(row.name, key)
            sides = table.setdefault(key, {})
            if source in sides:
                _merge(sides[source], row)
            else:
                sides[source] = _side(row)
    for route, side in log.items():
        table.setdefault(route, {})["log"] = side
    out: list[dict[str, Any]] = []
    for key, sides in table.items():
        kind = "socketio" if key == "socket.io" else "group" if key.startswith("group:") else "http"
        out.append({"endpoint": key, "kind": kind,
                    "sources": {s: sides[s].to_json() for s in order if s in sides}})
    def busiest(e: dict[str, Any]) -> tuple[int, str]:
        sources: dict[str, dict[str, Any]] = e["sources"]
        return -max((s.get("requests") or 0) for s in sources.values()), str(e["endpoint"])

    out.sort(key=busiest)
    return out


def read_endpoints(run_dir: Path, profile_name: str, tools: list[str] | None = None,
                   k6_script: Path | None = None) -> dict[str, Any]:
    """`summary.json`'s "endpoints": the joined rows, and per source why it is absent."""
    rows: dict[str, list[EndpointRow]] = {"k6": [], "artillery": []}
    missing: dict[str, str] = {}
    why_none = {"k6": "no per-endpoint metric in the export: k6 exports a tagged submetric only when "
                      "a threshold names it",
                "artillery": "no metrics-by-endpoint figures (the plugin is not enabled in the YAML)"}
    for tool in TOOLS:
        if tools is not None and tool.name not in tools:
            continue
        found, problem = tool.endpoints(run_dir, profile_name)
        rows[tool.name] = found
        if not found:
            missing[tool.name] = problem or why_none.get(tool.name, f"{tool.label} reported no endpoint")
    data, problem = read_applog_endpoints(run_dir)
    log = log_sides(data) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        missing["log"] = problem or f"no {ARTIFACT}"
    elif not log:
        missing["log"] = str(data.get("note") or "no request line in the app log")
    aliases: dict[str, str] = {}
    if k6_script is not None:
        with contextlib.suppress(OSError):
            aliases = script_names(k6_script.read_text(errors="replace"))
    others = {name: found for name, found in rows.items() if name not in ("k6", "artillery")}
    out = {"rows": join(rows["k6"], rows["artillery"], log, aliases, others), "missing": missing,
           "log_format": data.get("format") if isinstance(data, dict) else None}
    if groups := read_server_groups(run_dir):  # only runs whose log gave request times
        out["server_groups"] = groups
    return out


def endpoints_for(run_dir: Path, profile: Any) -> dict[str, Any]:
    """The same for a Profile (its tools and its k6 script)."""
    script = profile.k6_script
    if script is not None and not Path(script).is_absolute() and profile.project_dir is not None:
        script = Path(profile.project_dir) / script
    return read_endpoints(run_dir, profile.name, [t.name for t in tools_for(profile)], script)


# ----------------------------------------------------------------------------- presentation

def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}" if v < 100 else f"{v:,.0f}{unit}"
    return f"{v:,}{unit}"


def endpoint_lines(endpoints: Mapping[str, Any]) -> list[list[str]]:
    """Header + one row per endpoint and source: the cells of the markdown and Rich tables."""
    out = [["endpoint", "source", "requests", "p50", "p95", "p99", "errors", "5xx"]]
    for e in endpoints.get("rows") or []:
        first = True
        present: Mapping[str, Any] = e["sources"]
        for source in sorted(present, key=lambda k: (SOURCES.index(k) if k in SOURCES else 1.5, k)):
            s = present[source]
            if not isinstance(s, Mapping):
                continue
            out.append([e["endpoint"] if first else "", source, _fmt(s.get("requests")),
                        _fmt(s.get("p50_ms"), " ms"), _fmt(s.get("p95_ms"), " ms"),
                        _fmt(s.get("p99_ms"), " ms"), _fmt(s.get("errors")),
                        _fmt(s.get("status_5xx"))])
            first = False
    return out


def endpoints_markdown(endpoints: Mapping[str, Any] | None) -> list[str]:
    if not endpoints or not endpoints.get("rows"):
        return []
    rows = endpoint_lines(endpoints)
    lines = ["## Endpoints", "",
             "Client-side latency (k6, Artillery) beside the server's own (the app log): the "
             "difference is time spent outside the handler (network, queueing, the load generator).",
             "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    for source, why in (endpoints.get("missing") or {}).items():
        lines.append(f"\n_{source}: {why}_")
    return [*lines, "", *server_groups_markdown(endpoints)]


def endpoints_table(endpoints: Mapping[str, Any]) -> Any:
    """A Rich Table for the console and the result view (pure: no Textual, no I/O)."""
    from rich.table import Table

    rows = endpoint_lines(endpoints)
    table = Table(title="Endpoints", show_lines=False, caption=worst_seconds_line(endpoints))
    for i, head in enumerate(rows[0]):
        table.add_column(head, justify="left" if i < 2 else "right", no_wrap=i < 2)
    for r in rows[1:]:
        table.add_row(*r, end_section=False)
    return table
