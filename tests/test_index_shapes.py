"""Index shapes read off EXPLAIN VERBOSE filters: keys, their order, and which ones already exist.

The filter texts are the ones PostgreSQL 15 prints for the statements in tests/test_index_advice.py
and for the variants named in each case.
"""

from __future__ import annotations

from typing import Any

from perfdash.analyze.index_shapes import Key, Predicates, parse_filter, shapes, sort_keys, split_top
from perfdash.analyze.plan_hints import TableIndexes, scan_advice, scan_hint

COLUMNS = ["id", "account_id", "memo", "created_at", "name"]
USER_FILTER = "((t.created_at >= $2) AND (lower(t.memo) = lower($1)))"


def col(name: str) -> Key:
    return Key(name, expression=False)


def test_the_users_filter_splits_into_an_expression_equality_and_a_range() -> None:
    found = parse_filter(USER_FILTER, "t", COLUMNS)
    assert found.equal == (Key("lower(memo)", expression=True),)
    assert found.ranges == (col("created_at"),)
    assert [phrase for _, phrase in found.described] == ["created_at >= …", "lower(memo) = …"]


def test_a_parameter_on_the_left_is_flipped_and_is_null_counts_as_equality() -> None:
    found = parse_filter(
        "(($2 = t.account_id) AND ($1 < t.created_at) AND (t.memo IS NULL))", "t", COLUMNS,
    )
    assert found.equal == (col("account_id"), col("memo"))
    assert found.ranges == (col("created_at"),)
    assert ("created_at", "created_at > …") in found.described


def test_what_no_btree_seeks_on_is_left_out() -> None:
    for text in (
        "((t.account_id = $1) OR (t.memo = $2))",  # OR
        "(t.memo <> $1)",  # inequality
        "(t.memo ~~ $1)",  # a pattern: plan_hints advises pg_trgm or text_pattern_ops
        "(t.account_id = t.id)",  # both sides on the table
        "(t.memo IS NOT NULL)",
    ):
        assert parse_filter(text, "t", COLUMNS) == Predicates(), text


def test_a_varchar_cast_to_text_is_the_column_and_other_casts_are_expressions() -> None:
    relabelled = frozenset({"name"})
    assert parse_filter("((t.name)::text = $1)", "t", COLUMNS, relabelled).equal == (col("name"),)
    day = parse_filter("((t.created_at)::date = $1)", "t", COLUMNS, relabelled).equal
    assert day == (Key("(created_at)::date", expression=True),)
    assert day[0].element() == "((created_at)::date)"  # CREATE INDEX needs the extra parentheses
    assert Key("lower(memo)", expression=True).element() == "lower(memo)"
    assert Key("lower(memo) || name", expression=True).element() == "(lower(memo) || name)"


def test_and_inside_a_string_or_parentheses_does_not_split() -> None:
    assert split_top("(a = 'x AND y') AND (b = (c AND d))", " AND ") == [
        "(a = 'x AND y')", "(b = (c AND d))",
    ]


def test_equality_columns_come_first_then_the_order_or_range_column() -> None:
    found = parse_filter("((t.created_at >= $2) AND (t.account_id = $1))", "t", COLUMNS)
    order = sort_keys(["t.created_at DESC"], "t", COLUMNS)
    assert shapes(found, order) == [(col("account_id"), col("created_at")), (col("account_id"),)]
    # ORDER BY another column than the range: both are tried, the ORDER BY first.
    by_id = sort_keys(["t.id"], "t", COLUMNS)
    assert shapes(found, by_id) == [
        (col("account_id"), col("id")), (col("account_id"), col("created_at")), (col("account_id"),),
    ]
    # A sort that also orders by another table's column cannot come from this table's index.
    assert sort_keys(["t.created_at", "u.name"], "t", COLUMNS) == ()


def _scan(filter_text: str) -> dict[str, Any]:
    return {"Node Type": "Seq Scan", "Relation Name": "transfers", "Alias": "t",
            "Filter": filter_text, "Plan Rows": 100}


def test_an_existing_expression_index_is_not_advised_again() -> None:
    existing = TableIndexes(btree_keys=frozenset({("lower(memo)", "created_at")}))
    advice = scan_advice(_scan(USER_FILTER), "public", "transfers", COLUMNS, existing,
                         ["t.created_at DESC"])
    assert advice is not None
    assert not advice.candidates
    assert "although an index on it exists" in advice.hint()


def test_an_index_on_the_equality_column_alone_still_gets_the_composite() -> None:
    existing = TableIndexes(leading=frozenset({"account_id"}),
                            btree_keys=frozenset({("account_id",)}))
    advice = scan_advice(_scan("((t.created_at >= $2) AND (t.account_id = $1))"), "public",
                         "transfers", COLUMNS, existing, ["t.created_at"])
    assert advice is not None
    assert [(c.kind, c.create_index) for c in advice.candidates] == [
        ("composite", "CREATE INDEX ON transfers (account_id, created_at)"),
    ]


def test_an_equality_beside_a_pattern_gets_the_btree_and_a_pattern_alone_the_trigram() -> None:
    mixed = scan_advice(_scan("((t.memo ~~* $1) AND (t.account_id = $2))"), "public", "transfers",
                        COLUMNS, TableIndexes())
    assert mixed is not None
    assert mixed.candidates[0].create_index == "CREATE INDEX ON transfers (account_id)"
    alone = scan_advice(_scan("((t.memo ~~* $1) AND (t.created_at >= $2))"), "public",
                        "transfers", COLUMNS, TableIndexes())
    assert alone is not None
    assert [c.kind for c in alone.candidates] == ["trigram"]


def test_an_index_scan_that_filters_is_advised_only_when_verified() -> None:
    node = {"Node Type": "Index Scan", "Relation Name": "transfers", "Alias": "t",
            "Index Name": "transfers_account_id_idx", "Index Cond": "(t.account_id = $1)",
            "Filter": "(t.created_at >= $2)", "Plan Rows": 3}
    existing = TableIndexes(leading=frozenset({"account_id"}),
                            btree_keys=frozenset({("account_id",)}))
    advice = scan_advice(node, "public", "transfers", COLUMNS, existing)
    assert advice is not None
    assert advice.only_if_verified
    assert [c.create_index for c in advice.candidates] == [
        "CREATE INDEX ON transfers (account_id, created_at)",
    ]
    assert scan_hint(node, "public", "transfers", COLUMNS, existing) is None  # unverified: silent
    wide = TableIndexes(btree_keys=frozenset({("account_id", "created_at")}))
    assert scan_advice(node, "public", "transfers", COLUMNS, wide) is None
