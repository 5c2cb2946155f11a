"""Create and seed the demo shop database that the demo backend serves and perfdash load-tests.

`perfdash demo` and the tests call `prepare_database` once before starting the backend. Seeding uses
`generate_series` inside the server, so 200k orders take well under a second rather than a minute of
client round trips, and it tops tables up to the requested size instead of appending, so preparing
the same database twice leaves it as it was.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from perfdash.secret import Secret

TABLES: Final = ("customers", "products", "orders")

# Any constant works; it only has to be the same for every process seeding this database.
_SEED_LOCK_KEY: Final = 0x70657266

_SEED_CUSTOMERS: Final = """
INSERT INTO customers (name, email, created_at)
SELECT 'Customer ' || g, 'customer' || g || '@example.test',
       now() - random() * interval '3 years'
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""

_SEED_PRODUCTS: Final = """
INSERT INTO products (name, price_cents, stock)
SELECT 'Product ' || g, 99 + floor(random() * 49900)::int, floor(random() * 500)::int
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""

# Customer and product ids are drawn from the id range actually present, so topping up a table
# whose sequence has moved on still produces valid foreign keys. Statuses are weighted towards
# delivered orders, as in a shop that has been running for a while.
_SEED_ORDERS: Final = """
INSERT INTO orders (customer_id, product_id, quantity, status, created_at)
SELECT %(c_lo)s::int + floor(random() * (%(c_hi)s::int - %(c_lo)s::int + 1))::int,
       %(p_lo)s::int + floor(random() * (%(p_hi)s::int - %(p_lo)s::int + 1))::int,
       1 + floor(random() * 5)::int,
       (ARRAY['delivered', 'delivered', 'delivered', 'shipped', 'paid', 'pending',
              'cancelled'])[1 + floor(random() * 7)::int],
       now() - random() * interval '365 days'
FROM generate_series(1, %(n)s::int)
"""

# The constraint names are the ones schema.sql gives them.
_DROP_ORDER_FKS: Final = """
ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey,
                   DROP CONSTRAINT orders_product_id_fkey
"""
_ADD_ORDER_FKS: Final = """
ALTER TABLE orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    ADD CONSTRAINT orders_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id)
"""


def schema_sql() -> str:
    """The DDL shipped next to this module (package data, so it also works from a wheel)."""
    return resources.files("perfdash.demo").joinpath("schema.sql").read_text(encoding="utf-8")


def prepare_database(
    url: Secret, *, customers: int = 20_000, products: int = 2_000, orders: int = 200_000
) -> dict[str, int]:
    """Create the schema if absent, top every table up to the requested row count, ANALYZE.

    Returns the row count per table after seeding. Tables that already hold at least the requested
    number of rows (for example orders a load test has created) are left alone. A transaction-level
    advisory lock makes concurrent callers seed one after the other instead of both inserting.
    """
    if min(customers, products, orders) < 0:
        raise ValueError("row counts must not be negative")
    with psycopg.connect(url.reveal()) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK_KEY,))
            conn.execute(schema_sql())
            counts = _counts(conn)
            _top_up(conn, _SEED_CUSTOMERS, counts["customers"], customers)
            _top_up(conn, _SEED_PRODUCTS, counts["products"], products)
            missing = orders - counts["orders"]
            if missing > 0:
                c_lo, c_hi = _id_range(conn, "customers")
                p_lo, p_hi = _id_range(conn, "products")
                # Checking both foreign keys row by row makes the insert four times slower than
                # inserting unchecked and validating each constraint once, in one join, at the end.
                conn.execute(_DROP_ORDER_FKS)
                conn.execute(
                    _SEED_ORDERS,
                    {"c_lo": c_lo, "c_hi": c_hi, "p_lo": p_lo, "p_hi": p_hi, "n": missing},
                )
                conn.execute(_ADD_ORDER_FKS)
        # Fresh statistics let the planner see 200k orders at once instead of after autovacuum.
        conn.autocommit = True
        conn.execute("ANALYZE customers, products, orders")
        return _counts(conn)


def _top_up(conn: psycopg.Connection[TupleRow], insert: str, have: int, want: int) -> None:
    if want > have:
        conn.execute(insert, {"first": have + 1, "last": want})


def _id_range(conn: psycopg.Connection[TupleRow], table: str) -> tuple[int, int]:
    row = conn.execute(
        sql.SQL("SELECT min(id), max(id) FROM {}").format(sql.Identifier(table))
    ).fetchone()
    if row is None or row[0] is None:
        raise ValueError(f"cannot seed orders: table {table} is empty (ask for at least one row)")
    return int(row[0]), int(row[1])


def _counts(conn: psycopg.Connection[TupleRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
