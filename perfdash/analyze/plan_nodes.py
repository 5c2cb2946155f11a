"""Reading an EXPLAIN (FORMAT JSON) plan's tree: every node, and every scan with the sort above it.

Shared by the database report's findings (perfdash.analyze.database) and kept apart from them
because walking the tree knows nothing of what a finding says.
"""

from __future__ import annotations

from typing import Any

# Nodes between a Sort and the scan below it that keep the scan's row order meaningful to the sort.
_PASS_THROUGH = frozenset({"Limit", "Gather", "Gather Merge", "Result", "Sort", "Incremental Sort"})


def plan_scans(plan: list[Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """Every scan node, with the Sort Key of a sort above it that its row order could make unneeded.

    Only Limit, Gather and the like may stand between: above a join or an aggregate the order
    of one table's rows no longer decides the order of the output.
    """
    found: list[tuple[dict[str, Any], list[str]]] = []
    stack: list[tuple[dict[str, Any], list[str]]] = [
        (entry["Plan"], []) for entry in plan if isinstance(entry, dict) and "Plan" in entry
    ]
    while stack:
        node, order = stack.pop()
        kind = str(node.get("Node Type"))
        if "Relation Name" in node:
            found.append((node, order))
        if kind in ("Sort", "Incremental Sort"):
            order = [str(k) for k in node.get("Sort Key", [])]
        elif kind not in _PASS_THROUGH:
            order = []
        stack.extend((child, order) for child in reversed(node.get("Plans", [])))
    return found


def plan_nodes(plan: list[Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) result, depth first."""
    nodes: list[dict[str, Any]] = []
    stack = [entry["Plan"] for entry in plan if isinstance(entry, dict) and "Plan" in entry]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(reversed(node.get("Plans", [])))
    return nodes
