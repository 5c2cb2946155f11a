"""Plain-words index advice for one scan node of a plan, and the text rewrite that lets PostgreSQL plan it.

Split from `perfdash.analyze.database` because the advice must read the filter, not only name its
columns: a btree serves `col = $1` and a prefix `LIKE 'term%'` (with text_pattern_ops, or in the C
collation), but never `LIKE/ILIKE '%term%'` or a regular expression, which need a pg_trgm index.
Recommending `CREATE INDEX ON t (col)` for those sends a reader off to build an index the planner
will never use.

pg_stat_statements replaces every constant by `$n`, including the string of a typed literal, so
`interval '30 days'` reads `interval $1`, which no PostgreSQL version parses (`EXPLAIN
(GENERIC_PLAN)` of PostgreSQL 16 accepts `$n` but uses the same grammar). `preparable` turns such
forms into casts (`$1::interval`), which mean the same thing to the planner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from perfdash.analyze.index_shapes import (
    Key,
    Predicates,
    normalised,
    parse_filter,
    shapes,
    sort_keys,
)

_IDENT: Final = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'

_PRECISION: Final = r"(?:\s*\(\s*\d+\s*\))?"
_ZONE: Final = r"(?:\s+with(?:out)?\s+time\s+zone)?"
# Type names that may start a typed literal (`date '2024-01-01'`); any type can, these are the ones
# applications write. Multi-word names come before their first word.
_LITERAL_TYPES: Final = (
    rf"timestamp{_PRECISION}{_ZONE}|time{_PRECISION}{_ZONE}|interval{_PRECISION}|timestamptz"
    r"|timetz|date|double\s+precision|character\s+varying|char(?:acter)?|varchar|numeric|decimal"
    r"|bigint|smallint|integer|int[248]?|real|float[48]|bool(?:ean)?|text|uuid|jsonb?|inet|cidr"
    r"|macaddr|bytea|money|xml|tsquery|tsvector|regclass|oid|bit|varbit"
)
# Not after `.`, `::` or a quote: `t.date $1` or `x::date $1` are not typed literals (nor valid).
_TYPED_PARAM: Final = re.compile(
    rf"(?<![\w.$\":])(?P<type>{_LITERAL_TYPES})\s+\$(?P<n>\d+)\b", re.I,
)

# A positive or negated LIKE (~~), ILIKE (~~*) or regex (~, ~*) on an alias-qualified column, as
# EXPLAIN VERBOSE prints it: `(p.name ~~* $1)`, `((p.name)::text ~~ '%x%'::text)`.
_OPERATOR: Final = r"(?P<op>!?~~\*?|!?~\*?)(?![~<>=])"
_OPERAND: Final = r"(?P<rhs>'(?:[^']|'')*'|\S+)"
_CAST: Final = r"(?:::[A-Za-z][A-Za-z ]*?)?"

# How demanding a column's use is, from "a plain btree serves it" up to "only pg_trgm serves it".
_EQUAL, _PREFIX, _PARAM_LIKE, _TRIGRAM = 0, 1, 2, 3


@dataclass(frozen=True)
class TableIndexes:
    """Columns of a table that lead an index, by what that index can serve."""

    leading: frozenset[str] = frozenset()  # any index
    prefix: frozenset[str] = frozenset()  # a btree that serves LIKE 'term%'
    trigram: frozenset[str] = frozenset()  # a pg_trgm GIN or GiST index
    # Key lists of the btree indexes, each key as `index_shapes.normalised` writes it.
    btree_keys: frozenset[tuple[str, ...]] = frozenset()
    relabelled: frozenset[str] = frozenset()  # varchar columns, whose `::text` cast is a relabel


@dataclass(frozen=True)
class IndexCandidate:
    """One index the advice could name, with the advice's words for it."""

    create_index: str  # runnable as is (a trigram index also needs the pg_trgm extension)
    kind: str  # expression, composite, column, trigram or prefix
    advice: str  # what follows the scan in the finding, naming the index


@dataclass(frozen=True)
class ScanAdvice:
    """The finding for one scan node; candidates are alternatives, the first the most promising."""

    table: str
    head: str
    candidates: tuple[IndexCandidate, ...] = ()
    text: str = ""  # the whole finding when there is no candidate
    # The scan already uses an index: a wider one is worth a word only when HypoPG confirms it.
    only_if_verified: bool = False

    def hint(self, candidate: IndexCandidate | None = None, verdict: str | None = None) -> str:
        """The finding naming `candidate` (default: the first), with HypoPG's verdict after it."""
        chosen = candidate or (self.candidates[0] if self.candidates else None)
        if chosen is None:
            return self.text
        finding = f"{self.head}: {chosen.advice}"
        return f"{finding}; {verdict}" if verdict else finding


@dataclass
class _Use:
    rank: int = _EQUAL
    why: str = ""


@dataclass
class _Uses:
    by_column: dict[str, _Use] = field(default_factory=dict)

    def note(self, column: str, rank: int, why: str) -> None:
        if rank > self.by_column.setdefault(column, _Use()).rank:
            self.by_column[column] = _Use(rank, why)


def preparable(query: str) -> str:
    """The normalised text with typed-literal parameters (`interval $1`) written as casts."""
    return _TYPED_PARAM.sub(
        lambda m: f"${m['n']}::{' '.join(m['type'].split())}", query,
    )


def index_kinds(rows: list[tuple[Any, ...]]) -> TableIndexes:
    """`TableIndexes` from rows of (leading column, access method, opclass, collation)."""
    leading, prefix, trigram = set(), set(), set()
    for column, method, opclass, collation in rows:
        col = str(column)
        leading.add(col)
        if method in ("gin", "gist") and opclass in ("gin_trgm_ops", "gist_trgm_ops"):
            trigram.add(col)
        elif method == "btree" and (
            str(opclass).endswith("_pattern_ops") or collation in ("C", "POSIX")
        ):
            prefix.add(col)
    return TableIndexes(frozenset(leading), frozenset(prefix), frozenset(trigram))


def scan_hint(
    node: dict[str, Any], schema: str, name: str, columns: list[str], indexes: TableIndexes,
) -> str | None:
    """The finding for one scan node, unverified, or None when it says nothing worth acting on."""
    advice = scan_advice(node, schema, name, columns, indexes)
    return None if advice is None or advice.only_if_verified else advice.hint()


def scan_advice(
    node: dict[str, Any], schema: str, name: str, columns: list[str], indexes: TableIndexes,
    order: list[str] | None = None,
) -> ScanAdvice | None:
    """The finding for one scan node, or None when it says nothing worth acting on.

    A Seq Scan qualifies, and so does an Index Scan with no index condition: it walks a whole index
    only for its order (`ORDER BY id LIMIT n`) and filters every row it reads, like a Seq Scan.
    `order` is the Sort Key of the sort right above the scan, which an index can make unneeded.
    Pattern matches keep their pg_trgm or text_pattern_ops advice unless an equality predicate
    offers a btree to seek on; equality, range and ORDER BY keys get one btree, equality first.
    """
    kind = str(node.get("Node Type"))
    table = name if schema == "public" else f"{schema}.{name}"
    if kind == "Seq Scan":
        scan = f"Seq Scan on {table}"
    elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
        scan = f"{kind} on {table} (all of {node.get('Index Name', 'an index')}, for its order)"
    elif kind in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") and "Filter" in node:
        return _wider_index(node, kind, table, _quote(schema, name), columns, indexes, order or [])
    else:
        return None
    filter_text = str(node.get("Filter", ""))
    alias = _alias_pattern(str(node.get("Alias", name)))
    used = _filter_columns(filter_text, alias, columns)
    if not used:
        if kind == "Seq Scan" and "Filter" not in node and float(node.get("Plan Rows", 0)) >= 1000:
            return ScanAdvice(table, scan, text=(
                f"Seq Scan on {table} reads all ~{int(node['Plan Rows'])} rows each time: add a "
                "WHERE clause or LIMIT, or an index that matches the ORDER BY"
            ))
        return None
    uses = _pattern_uses(filter_text, alias, columns)
    head = f"{scan} filtered by {', '.join(used)}"
    qualified = _quote(schema, name)
    predicates = parse_filter(filter_text, alias, columns, indexes.relabelled)
    ordered = sort_keys(order or [], alias, columns)
    btree = [
        _btree_candidate(keys, table, qualified, predicates.described, ordered)
        for keys in shapes(predicates, ordered) if not _covered(keys, indexes)
    ]
    pattern = next((
        col for col in used
        if uses.by_column.get(col, _Use()).rank > _EQUAL
        and not _served(col, uses.by_column[col].rank, indexes)
    ), None)
    if pattern is not None and not (predicates.equal and btree):
        return ScanAdvice(table, head, (_pattern_candidate(pattern, uses, table, qualified),))
    if btree:
        return ScanAdvice(table, head, tuple(btree))
    # Nothing a btree seeks on (<>, NOT LIKE, a function of two columns): name a column, as ever.
    for col in [] if predicates.described else used:
        if not _served(col, _EQUAL, indexes):
            ident = _quote_ident(col)
            create = f"CREATE INDEX ON {qualified} ({ident})"
            return ScanAdvice(table, head, (IndexCandidate(
                create, "column", f"no index on {table}.{col} ({create})",
            ),))
    return ScanAdvice(table, head, text=(
        f"{head} although an index on it exists: the planner expects many "
        f"matching rows or the statistics are stale (ANALYZE {qualified})"
    ))


def _wider_index(
    node: dict[str, Any], kind: str, table: str, qualified: str, columns: list[str],
    indexes: TableIndexes, order: list[str],
) -> ScanAdvice | None:
    """An index that also holds the filtered columns, for a scan whose index condition is only part
    of the WHERE: `Index Cond: account_id = $1`, `Filter: created_at >= $2` reads every row of the
    account to keep a few."""
    alias = _alias_pattern(str(node.get("Alias", node.get("Relation Name", ""))))
    filter_text = str(node["Filter"])
    cond = parse_filter(str(node.get("Index Cond") or node.get("Recheck Cond") or ""), alias,
                        columns, indexes.relabelled)
    extra = parse_filter(filter_text, alias, columns, indexes.relabelled)
    if not extra.described:
        return None
    predicates = Predicates(
        tuple(dict.fromkeys(cond.equal + extra.equal)),
        tuple(dict.fromkeys(cond.ranges + extra.ranges)),
        cond.described + extra.described,
    )
    ordered = sort_keys(order, alias, columns)
    candidates = tuple(
        _btree_candidate(keys, table, qualified, predicates.described, ordered)
        for keys in shapes(predicates, ordered)
        if not _covered(keys, indexes) and any(k in keys for k in extra.equal + extra.ranges)
    )
    if not candidates:
        return None
    names = [n["Index Name"] for n in [node, *node.get("Plans", [])] if "Index Name" in n]
    via = f" using {names[0]}" if len(names) == 1 else ""  # a bitmap scan names it below
    head = (
        f"{kind} on {table}{via} filtered by "
        f"{', '.join(_filter_columns(filter_text, alias, columns))} after its index condition"
    )
    return ScanAdvice(table, head, candidates, only_if_verified=True)


def _pattern_candidate(col: str, uses: _Uses, table: str, qualified: str) -> IndexCandidate:
    """Today's pg_trgm or text_pattern_ops advice for a pattern match no index serves."""
    use = uses.by_column[col]
    ident = _quote_ident(col)
    gin = f"CREATE INDEX ON {qualified} USING gin ({ident} gin_trgm_ops)"
    trigram = f"CREATE EXTENSION IF NOT EXISTS pg_trgm; {gin}"
    prefix = f"CREATE INDEX ON {qualified} ({ident} text_pattern_ops)"
    why = use.why.replace("{target}", f"{table}.{col}")
    if use.rank == _TRIGRAM:
        return IndexCandidate(gin, "trigram", f"{why} ({trigram})")
    if use.rank == _PARAM_LIKE:
        return IndexCandidate(gin, "trigram", (
            f"{why} ({trigram}); for prefix-only searches a btree with text_pattern_ops is enough "
            f"({prefix})"
        ))
    return IndexCandidate(prefix, "prefix", f"{why} ({prefix})")


def _btree_candidate(
    keys: tuple[Key, ...], table: str, qualified: str, described: tuple[tuple[str, str], ...],
    ordered: tuple[Key, ...],
) -> IndexCandidate:
    create = f"CREATE INDEX ON {qualified} ({', '.join(k.element() for k in keys)})"
    expressions = [k for k in keys if k.expression]
    position = {k.text: i for i, k in enumerate(keys)}
    phrases = [p for _, p in sorted(
        (d for d in described if d[0] in position), key=lambda d: position[d[0]],
    )]
    if expressions:
        expression = expressions[0].text
        plain = _columns_in(expression)
        served = f"an index on {', '.join(plain)}" if plain else "a plain index"
        what = next((p for k, p in described if k == expression), expression)
        return IndexCandidate(create, "expression", (
            f"{served} does not serve {what}, an index on the expression does ({create})"
        ))
    if len(keys) == 1:
        return IndexCandidate(create, "column", f"no index on {table}.{keys[0].text} ({create})")
    uses = phrases
    if any(k in ordered for k in keys):
        uses.append(f"ORDER BY {', '.join(k.text for k in ordered)}")
    return IndexCandidate(create, "composite", (
        f"no index on {table} starts with ({', '.join(k.text for k in keys)}), the order that "
        f"serves {_and(uses)}: equality columns first, then the range or ORDER BY column ({create})"
    ))


def _covered(keys: tuple[Key, ...], indexes: TableIndexes) -> bool:
    """Whether an existing btree index starts with these keys, in this order."""
    wanted = tuple(normalised(k.text) for k in keys)
    return any(existing[: len(wanted)] == wanted for existing in indexes.btree_keys)


def _columns_in(expression: str) -> list[str]:
    """Identifiers in an index expression that are not function names, type names or strings."""
    text = re.sub(r"'(?:[^']|'')*'", "", expression)
    text = re.sub(r"::\s*[A-Za-z_][\w ]*", "", text)
    return list(dict.fromkeys(
        m.group(1) for m in re.finditer(rf"(?<![\w$\"])({_IDENT})(?![\w$\"])(?!\s*\()", text)
        if not m.group(1).isupper()
    ))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _served(col: str, rank: int, indexes: TableIndexes) -> bool:
    if rank >= _PARAM_LIKE:
        return col in indexes.trigram
    if rank == _PREFIX:
        return col in indexes.trigram or col in indexes.prefix
    return col in indexes.leading


def _pattern_uses(filter_text: str, alias: str, columns: list[str]) -> _Uses:
    """How demanding each column's pattern matches in the filter are (negations do not count)."""
    uses = _Uses()
    pattern = re.compile(
        rf"(?:(?<![\w$])\(\s*{alias}\.(?P<c1>{_IDENT})\s*\){_CAST}"
        rf"|(?<![\w.\"]){alias}\.(?P<c2>{_IDENT}))\s*{_OPERATOR}\s*{_OPERAND}"
    )
    for m in pattern.finditer(filter_text):
        col = _unquote(m["c1"] or m["c2"])
        op = m["op"]
        if col not in columns or op.startswith("!"):
            continue
        if op in ("~", "~*"):
            uses.note(col, _TRIGRAM, "a regular expression on {target} needs a pg_trgm index, "
                      "since a btree serves only prefix patterns like 'term%'")
        elif op == "~~*":
            uses.note(col, _TRIGRAM, "ILIKE on {target} needs a pg_trgm index, since a btree (even "
                      "with text_pattern_ops) serves only case-sensitive prefix patterns like "
                      "'term%', not ILIKE or a leading '%'")
        elif not m["rhs"].startswith("'"):
            uses.note(col, _PARAM_LIKE, "LIKE on {target} with the pattern in a parameter needs a "
                      "pg_trgm index if the pattern may start with '%', since a btree serves only "
                      "prefix patterns like 'term%'")
        elif (literal := m["rhs"][1:-1].replace("''", "'")) and literal[0] not in "%_":
            uses.note(col, _PREFIX, "LIKE with a prefix pattern on {target} is served by a btree "
                      "with text_pattern_ops, which works in any collation")
        else:
            uses.note(col, _TRIGRAM, "LIKE with a leading wildcard on {target} needs a pg_trgm "
                      "index, since a btree serves only prefix patterns like 'term%'")
    return uses


def _filter_columns(filter_text: str, alias: str, columns: list[str]) -> list[str]:
    """Columns of the scanned table named in a VERBOSE filter, where each is alias-qualified."""
    found: list[str] = []
    for match in re.finditer(rf"(?<![\w.\"]){alias}\.({_IDENT})", filter_text):
        col = _unquote(match.group(1))
        if col in columns and col not in found:
            found.append(col)
    return found


def _alias_pattern(alias: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", alias):
        return re.escape(alias)
    return re.escape('"' + alias.replace('"', '""') + '"')


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def _quote_ident(name: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _quote(schema: str, name: str) -> str:
    table = _quote_ident(name)
    return table if schema == "public" else f"{_quote_ident(schema)}.{table}"
