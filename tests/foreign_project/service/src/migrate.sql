-- shopfront schema and catalog data. Applied by src/server.js at every start; safe to run again.

CREATE TABLE IF NOT EXISTS products (
  id          serial PRIMARY KEY,
  name        text NOT NULL,
  price_cents int,
  created_at  timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
  id          serial PRIMARY KEY,
  product_id  int REFERENCES products (id),
  qty         int,
  created_at  timestamptz DEFAULT now()
);

CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at);

-- The catalog: 50,000 products, only when the table is empty. (No index on name: search scans.)
INSERT INTO products (name, price_cents)
SELECT format('%s %s %s',
              (ARRAY['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Bracket', 'Flange'])[1 + (g % 6)],
              g,
              (ARRAY['blue', 'red', 'green', 'black', 'white', 'steel', 'brass'])[1 + ((g / 6) % 7)]),
       199 + (g * 37) % 9800
FROM generate_series(1, 50000) AS g
WHERE NOT EXISTS (SELECT 1 FROM products);

ANALYZE products;
