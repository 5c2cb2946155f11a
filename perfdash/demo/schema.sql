-- Schema of the demo shop that perfdash load-tests; applied by perfdash/demo/database.py.
-- Every statement is idempotent so preparing an existing database changes nothing.

CREATE TABLE IF NOT EXISTS customers (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS products (
    id           serial PRIMARY KEY,
    name         text NOT NULL,
    price_cents  int NOT NULL CHECK (price_cents >= 0),
    stock        int NOT NULL
);

-- The demo's planted finding: there is deliberately NO index on orders.customer_id (PostgreSQL does
-- not create one for a foreign key), so GET /api/customers/{id}/orders seq-scans the whole table.
-- perfdash is expected to spot it through pg_stat_user_tables.seq_scan and pg_stat_statements.
-- Do not add `CREATE INDEX ... ON orders (customer_id)` here.
CREATE TABLE IF NOT EXISTS orders (
    id           bigserial PRIMARY KEY,
    customer_id  int NOT NULL CONSTRAINT orders_customer_id_fkey REFERENCES customers (id),
    product_id   int NOT NULL CONSTRAINT orders_product_id_fkey REFERENCES products (id),
    quantity     int NOT NULL CHECK (quantity > 0),
    status       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
