-- The lab's tables. Idempotent: applied at every start. Indexes that a pathology removes are not
-- here: service/db.py creates or drops them to match LAB_PATHOLOGIES.
CREATE TABLE IF NOT EXISTS accounts (
    id            integer PRIMARY KEY,
    owner         text NOT NULL,
    balance_cents bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS transfers (
    id            bigserial PRIMARY KEY,
    from_account  integer NOT NULL REFERENCES accounts (id),
    amount_cents  integer NOT NULL,
    fee_cents     integer NOT NULL DEFAULT 0,
    memo          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
    id          integer PRIMARY KEY,
    account_id  integer NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS order_items (
    id           bigint PRIMARY KEY,
    order_id     integer NOT NULL,
    sku          text NOT NULL,
    qty          integer NOT NULL,
    price_cents  integer NOT NULL
);
CREATE INDEX IF NOT EXISTS order_items_order_id_idx ON order_items (order_id);

CREATE TABLE IF NOT EXISTS events (
    id          bigserial PRIMARY KEY,
    account_id  integer NOT NULL,
    kind        text NOT NULL,
    detail      text NOT NULL,
    created_at  timestamptz NOT NULL
);
