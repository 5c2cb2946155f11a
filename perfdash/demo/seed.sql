-- The demo's performance-test data, seeded by perfdash through its ownership protocol
-- (see perfdash/data/seed.py): every INSERT returns its primary key, so `perfdash cleanup` can delete
-- exactly these rows later and the base data from perfdash/demo/database.py stays untouched.
-- :scale is the environment's seed_scale (or the scale asked for).

-- :scale perf customers; their e-mail addresses mark them as test data for anyone reading the table.
INSERT INTO customers (name, email)
SELECT 'Perf customer ' || g, 'perf+' || g || '@example.test'
FROM generate_series(1, :scale::int) AS g
RETURNING id;

-- Three orders for each of them. The whole seed is one transaction, so the customers inserted just
-- above are exactly those whose xmin is this transaction; earlier runs' perf customers are not picked
-- up again. Products are spread over the existing range deterministically (ids may have gaps).
INSERT INTO orders (customer_id, product_id, quantity, status)
SELECT c.id, p.id, k, 'pending'
FROM customers AS c
CROSS JOIN generate_series(1, 3) AS k
CROSS JOIN LATERAL (
    SELECT pr.id
    FROM products AS pr
    WHERE pr.id >= (SELECT min(id) FROM products)
                   + (c.id * 7919 + k * 104729) % (SELECT max(id) - min(id) + 1 FROM products)
    ORDER BY pr.id
    LIMIT 1
) AS p
WHERE c.xmin = pg_current_xact_id()::xid
RETURNING id;
