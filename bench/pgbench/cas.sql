-- The database's own limit for the cas scenario: the statements the API
-- runs for one GET /v1/products/{id} and one compare-and-swap PATCH of its
-- stock, in the same order. The PATCH reads the product again, with the
-- versions since the one it names (its changes are recorded against what
-- it read, and a 409 would carry those versions), then swaps in one
-- statement that records history and the feed's entry only if the swap
-- matched.
-- Set up bench_ids as read.sql says; pgbench is given -D products=N.
\set n random(1, :products)
SELECT p.id AS id, p.version AS version, p.stock AS stock FROM products p JOIN bench_ids b ON b.id = p.id WHERE b.n = :n \gset
SELECT * FROM products p LEFT JOIN product_history h ON h.product_id = p.id AND h.version > :version AND h.version <= p.version WHERE p.id = :id AND p.deleted_at IS NULL ORDER BY h.version;
WITH swapped AS (UPDATE products SET sku = sku, name = name, description = description, price_minor = price_minor, currency = currency, stock = :stock + 1, version = :version + 1, updated_at = 0 WHERE id = :id AND version = :version AND deleted_at IS NULL RETURNING 1), recorded AS (INSERT INTO product_history (product_id, version, at, actor, operation, reason, changes) SELECT :id, :version + 1, 0, 'pgbench', 'update', NULL, '{"stock":{"from":0,"to":1}}' FROM swapped RETURNING product_id, version) INSERT INTO product_events (product_id, version) SELECT product_id, version FROM recorded;
