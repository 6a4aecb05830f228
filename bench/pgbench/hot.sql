-- The database's own limit for the hot scenario: cas.sql's statements on
-- the 10 products of bench_hot_ids (numbered 1..10 like bench_ids). A swap
-- that lost its race changes nothing; successes are counted afterwards as
-- the versions the 10 products gained.
\set n random(1, 10)
SELECT p.id AS id, p.version AS version, p.stock AS stock FROM products p JOIN bench_hot_ids b ON b.id = p.id WHERE b.n = :n \gset
SELECT * FROM products WHERE id = :id AND deleted_at IS NULL LIMIT 1;
BEGIN;
WITH swapped AS (UPDATE products SET sku = sku, name = name, description = description, price_minor = price_minor, currency = currency, stock = :stock + 1, version = :version + 1, updated_at = 0 WHERE id = :id AND version = :version AND deleted_at IS NULL RETURNING 1) SELECT count(*) AS swapped FROM swapped \gset
\if :swapped
INSERT INTO product_history (product_id, version, at, actor, operation, reason, changes) VALUES (:id, :version + 1, 0, 'pgbench', 'update', NULL, '{"stock":{"from":0,"to":1}}');
INSERT INTO product_events (product_id, version) VALUES (:id, :version + 1);
\endif
COMMIT;
