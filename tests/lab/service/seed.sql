-- Seed data, run once on an empty database (service/db.py checks). Deterministic expressions, no
-- random(): two lab databases hold the same rows. Big enough that a sequential scan shows:
-- 10,000 accounts, 50,000 transfers, 2,000 orders of exactly 50 items each, 120,000 events.
INSERT INTO accounts (id, owner, balance_cents, created_at)
SELECT i, 'owner ' || i, 1000000, now() - interval '400 days'
FROM generate_series(1, 10000) AS i;

INSERT INTO transfers (from_account, amount_cents, fee_cents, memo, created_at)
SELECT (i * 7919) % 9999 + 2, 100 + i % 9000, 25, 'Invoice ' || (i % 25000),
       now() - ((i * 37) % (90 * 24 * 60)) * interval '1 minute'
FROM generate_series(1, 50000) AS i;

INSERT INTO orders (id, account_id, status, created_at)
SELECT i, (i * 31) % 10000 + 1, 'paid', now() - (i % 90) * interval '1 day'
FROM generate_series(1, 2000) AS i;

INSERT INTO order_items (id, order_id, sku, qty, price_cents)
SELECT i, (i - 1) / 50 + 1, 'SKU-' || (i % 700), 1 + i % 4, 199 + (i * 13) % 5000
FROM generate_series(1, 100000) AS i;

INSERT INTO events (account_id, kind, detail, created_at)
SELECT (i * 7919) % 10000 + 1, (ARRAY['login', 'view', 'transfer', 'logout'])[1 + i % 4],
       'event detail ' || i, now() - ((i * 53) % (90 * 24 * 60)) * interval '1 minute'
FROM generate_series(1, 120000) AS i;
