"""The btree index shapes that fit one scan's filter and sort, read from EXPLAIN VERBOSE text.

An index serves a predicate only when its key is the very expression the predicate compares: an
index on `memo` does nothing for `lower(memo) = lower($1)`, and one on `created_at` nothing for
`created_at::date = $1`. Column order matters as much: a btree seeks on its leading equality
columns and then reads one range (or returns rows in ORDER BY order) on the next column, so
`account_id = $1 AND created_at >= $2 ORDER BY created_at` wants `(account_id, created_at)`, never
the reverse. This module only proposes shapes; whether the planner would use one is checked with
HypoPG (`perfdash.analyze.hypo`), because the planner, not a rule of thumb, has the last word.

EXPLAIN VERBOSE prints each predicate fully parenthesised with alias-qualified columns, such as
`((t.created_at >= $2) AND (lower(t.memo) = lower($1)))`, which is regular enough to split at its
top-level ANDs and comparison operators without a SQL parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeVar

_IDENT: Final = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
# Comparison operators as EXPLAIN prints them, between spaces; longer spellings first.
_COMPARE: Final = re.compile(r" (<=|>=|<>|!=|!~~\*|!~~|~~\*|~~|!~\*|!~|~\*|=|<|>|~) ")
_EQUAL_OPS: Final = frozenset({"=", "IS NULL"})
_RANGE_OPS: Final = frozenset({"<", "<=", ">", ">="})
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Casts that only relabel a column (varchar to text): an index on the column itself serves them.
_RELABEL: Final = re.compile(r"^\((?P<col>" + _IDENT + r")\)::(?:text|character varying)$")
_FUNCTION_CALL: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_$.]*\(")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Key:
    """One index key: a column or an expression, written without the alias as CREATE INDEX wants."""

    text: str
    expression: bool

    def element(self) -> str:
        """The key as an index element: a function call stands alone, other expressions need ()."""
        if not self.expression or (
            _FUNCTION_CALL.match(self.text) and _enclosing_paren(self.text, self.text.index("("))
        ):
            return self.text
        return f"({self.text})"


@dataclass(frozen=True)
class Predicates:
    """The indexable conjuncts of one scan's filter, in the order EXPLAIN prints them."""

    equal: tuple[Key, ...] = ()
    ranges: tuple[Key, ...] = ()
    # (key text, `lower(memo) = …`) per predicate, for the advice text
    described: tuple[tuple[str, str], ...] = ()


def parse_filter(
    filter_text: str, alias: str, columns: list[str], relabelled: frozenset[str] = frozenset(),
) -> Predicates:
    """Equality and range predicates on this scan's columns; anything else (OR, <>, LIKE) is skipped.

    `alias` is a regex for the scan's alias; `relabelled` names the columns whose `::text` cast is
    only a relabel (varchar), so an index on the bare column serves the cast.
    """
    equal: list[Key] = []
    ranges: list[Key] = []
    described: list[tuple[str, str]] = []
    for conjunct in split_top(strip_parens(filter_text), " AND "):
        found = _comparison(strip_parens(conjunct))
        if found is None:
            continue
        lhs, op, rhs = found
        left = _key(lhs, alias, columns, relabelled)
        right = _key(rhs, alias, columns, relabelled) if rhs else None
        if left is not None and right is None and not _mentions(rhs, alias):
            key = left
        elif right is not None and left is None and not _mentions(lhs, alias):
            key, op = right, _FLIPPED.get(op, op)
        else:
            continue
        if "SubPlan" in (rhs + lhs):
            continue
        if op in _EQUAL_OPS:
            equal.append(key)
        elif op in _RANGE_OPS:
            ranges.append(key)
        else:
            continue
        described.append((key.text, f"{key.text} IS NULL" if op == "IS NULL" else f"{key.text} {op} …"))
    return Predicates(tuple(_unique(equal)), tuple(_unique(ranges)), tuple(described))


def sort_keys(keys: list[str], alias: str, columns: list[str]) -> tuple[Key, ...]:
    """The ORDER BY keys of a Sort node when every one is on this scan's table, else none.

    A sort that also orders by another table's column cannot be served by this table's index.
    """
    found: list[Key] = []
    for raw in keys:
        text = re.sub(r"\s+(?:ASC|DESC)(?:\s+NULLS\s+(?:FIRST|LAST))?$", "", raw.strip())
        text = re.sub(r"\s+NULLS\s+(?:FIRST|LAST)$", "", text)
        key = _key(text, alias, columns, frozenset())
        if key is None:
            return ()
        found.append(key)
    return tuple(_unique(found))


def shapes(predicates: Predicates, order: tuple[Key, ...]) -> list[tuple[Key, ...]]:
    """Candidate key lists, most promising first: equality keys, then the ORDER BY or range key.

    Both the ORDER BY and the range column are offered when they differ, since which one pays
    off (stop early in order, or seek to the range) depends on the data; HypoPG decides.
    """
    equal = list(predicates.equal)
    ordered = [k for k in order if k not in equal]
    ranges = [k for k in predicates.ranges if k not in equal]
    candidates: list[tuple[Key, ...]] = []
    if ordered and (equal or ranges):
        candidates.append(tuple(equal + ordered))
    if ranges:
        candidates.append(tuple(equal + ranges[:1]))
    if equal:
        candidates.append(tuple(equal))
    return _unique(candidates)


def normalised(text: str) -> str:
    """An index key text comparable with `pg_get_indexdef`'s: no spaces, no enclosing parentheses."""
    return re.sub(r"\s+", "", strip_parens(text.strip()))


def strip_parens(text: str) -> str:
    """The text without the parentheses that enclose all of it (any number of pairs)."""
    text = text.strip()
    while text.startswith("(") and _enclosing_paren(text, 0):
        text = text[1:-1].strip()
    return text


def split_top(text: str, separator: str) -> list[str]:
    """Parts of the text between separators that stand outside parentheses and quotes."""
    parts: list[str] = []
    depth, start, quote, i = 0, 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _comparison(text: str) -> tuple[str, str, str] | None:
    """(left, operator, right) split at the first top-level comparison operator."""
    if text.endswith(" IS NULL") and not text.endswith(" NOT NULL"):
        return text[: -len(" IS NULL")], "IS NULL", ""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == " " and (m := _COMPARE.match(text, i)):
            return text[:i].strip(), m.group(1), text[m.end():].strip()
    return None


def _key(side: str, alias: str, columns: list[str], relabelled: frozenset[str]) -> Key | None:
    """The side as an index key when it reads only this scan's columns and at least one of them."""
    refs = [
        m.group(1) for m in re.finditer(rf"(?<![\w.\"]){alias}\.({_IDENT})", side)
    ]
    if not refs or any(_unquote(r) not in columns for r in refs):
        return None
    text = strip_parens(re.sub(rf"(?<![\w.\"]){alias}\.(?={_IDENT})", "", side))
    if re.fullmatch(_IDENT, text):
        return Key(text, expression=False)
    relabel = _RELABEL.match(text)
    if relabel and _unquote(relabel["col"]) in relabelled:
        return Key(relabel["col"], expression=False)
    if re.search(r"\$\d|SubPlan|InitPlan", text):  # a parameter inside the key: not indexable
        return None
    return Key(text, expression=True)


def _mentions(text: str, alias: str) -> bool:
    return re.search(rf"(?<![\w.\"]){alias}\.", text) is not None


def _enclosing_paren(text: str, start: int) -> bool:
    """Whether the parenthesis at `start` closes at the very end of the text."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def _unique(items: list[_T]) -> list[_T]:
    return list(dict.fromkeys(items))
