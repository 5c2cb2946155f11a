"""Small formatting helpers the rules share, so every finding writes figures the same way."""

from __future__ import annotations

QUERY_CHARS = 120


def short(query: str, limit: int = QUERY_CHARS) -> str:
    text = " ".join(query.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ms(v: float) -> str:
    if v >= 10:
        return f"{v:,.0f} ms"
    if v >= 1:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms" if v >= 0.1 else f"{v:.3f} ms"


def pct(share: float) -> str:
    return f"{share:.0%}"


def rank_words(rank: dict[str, int]) -> str:
    """`#1 by total time, #3 by calls`: where a statement stands in the workload."""
    names = {"total": "total time", "calls": "calls", "mean": "mean time"}
    return ", ".join(f"#{rank[k]} by {names[k]}" for k in ("total", "calls", "mean") if k in rank)
