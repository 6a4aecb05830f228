-- The database's own limit for the cas scenario: read a product, then the
-- statements of a compare-and-swap PATCH in one transaction, as the API
-- runs them (the guarded UPDATE, the history row, the event number under
-- its advisory lock, the number store::events uses, and NOTIFY). Set up
-- bench_ids as read.sql says.
\set n random(1, :products)
SELECT p.id AS id, p.version AS version, p.stock AS stock FROM products p JOIN bench_ids b ON b.id = p.id WHERE b.n = :n \gset
BEGIN;
WITH updated AS (UPDATE products SET stock = :stock + 1, version = version + 1, updated_at = 0 WHERE id = :id AND version = :version AND deleted_at IS NULL RETURNING id, version) INSERT INTO product_history (product_id, version, at, actor, operation, reason, changes) SELECT id, version, 0, 'pgbench', 'update', NULL, '{}' FROM updated;
SELECT pg_advisory_xact_lock(21921351);
INSERT INTO product_events (product_id, version) SELECT product_id, version FROM product_history WHERE product_id = :id AND version = :version + 1;
NOTIFY product_events;
COMMIT;
