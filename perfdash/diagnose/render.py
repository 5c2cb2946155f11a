"""The diagnosis as text: Markdown for summary.md and the CI step summary, plain lines for the
headless console. Readers of summary.json get the findings as data; these are the sentences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HEADLINE_EVIDENCE = 4
TIME_ROWS = 15


def _findings(diagnosis: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [f for f in (diagnosis or {}).get("findings") or [] if isinstance(f, Mapping)]


def _when(ev: Mapping[str, Any]) -> str:
    a, b = ev.get("from_s"), ev.get("to_s")
    if isinstance(a, int | float) and isinstance(b, int | float):
        return f" ({int(a) // 60}:{int(a) % 60:02d}–{int(b) // 60}:{int(b) % 60:02d})"
    return ""


def diagnosis_markdown(diagnosis: Mapping[str, Any] | None) -> list[str]:
    """`## Diagnosis`: the findings, most impact first, each with evidence, cause and fix."""
    found = _findings(diagnosis)
    lines = ["## Diagnosis", ""]
    if not found:
        lines.append("No problem found in the database, the connections or the endpoints.")
    for n, f in enumerate(found, start=1):
        lines += [_headline(n, f), f"   - why: {f.get('cause', '')}", f"   - fix: {f.get('fix', '')}"]
        for ev in [e for e in f.get("evidence") or [] if isinstance(e, Mapping)]:
            lines.append(f"   - evidence: {ev.get('text', '')}{_when(ev)} — `{ev.get('source', '')}`")
    lines += _time_table(diagnosis)
    gaps = [g for g in (diagnosis or {}).get("not_measured") or [] if isinstance(g, Mapping)]
    if gaps:
        lines += ["", *[f"- Not looked at ({g.get('rule')}): needs {g.get('needs')}" for g in gaps]]
    return [*lines, ""]


def _headline(n: int, f: Mapping[str, Any]) -> str:
    links = ", ".join(str(x) for x in f.get("links") or [])
    return (f"{n}. **{f.get('title', '')}** — impact {float(f.get('impact') or 0):.0%}, "
            f"confidence {f.get('confidence', '?')}" + (f", linked to {links}" if links else ""))


def diagnosis_headlines_markdown(diagnosis: Mapping[str, Any] | None, limit: int = 5) -> list[str]:
    """The first findings as summary.md numbers them, each with its fix and without the evidence:
    a CI step summary is read at a glance, and the run's summary.md has the rest."""
    found = _findings(diagnosis)
    lines = ["### Diagnosis", ""]
    if not found:
        lines.append("No problem found in the database, the connections or the endpoints.")
    for n, f in enumerate(found[:limit], start=1):
        lines += [_headline(n, f), f"   - fix: {f.get('fix', '')}"]
    if len(found) > limit:
        lines.append(f"\n{len(found) - limit} more in the run's summary.md.")
    return [*lines, ""]


def _ms(v: Any) -> str:
    return f"{v:,.1f}" if isinstance(v, int | float) else "—"


def _time_table(diagnosis: Mapping[str, Any] | None) -> list[str]:
    rows = [r for r in (diagnosis or {}).get("time_by_endpoint") or [] if isinstance(r, Mapping)]
    if not rows:
        return []
    out = ["", "Where the time goes (p50, ms):", "",
           "| endpoint | requests | client | server | database per request | stage |",
           "|---|---:|---:|---:|---:|---|"]
    for r in rows[:TIME_ROWS]:
        out.append(f"| {r.get('endpoint')} | {r.get('requests') or '—'} | {_ms(r.get('client_p50_ms'))} "
                   f"| {_ms(r.get('server_p50_ms'))} | {_ms(r.get('db_ms_per_request'))} "
                   f"| {r.get('stage')} |")
    return out


def diagnosis_lines(diagnosis: Mapping[str, Any] | None) -> list[str]:
    """The headless console's diagnosis: one line per finding, then its fix."""
    found = _findings(diagnosis)
    if not found:
        return ["diagnosis: no problem found in the database, the connections or the endpoints"]
    out = ["diagnosis:"]
    for n, f in enumerate(found, start=1):
        out.append(f"  {n}. {f.get('title', '')}  [{f.get('id')}, impact "
                   f"{float(f.get('impact') or 0):.0%}, {f.get('confidence')}]")
        out.append(f"     fix: {f.get('fix', '')}")
    return out
