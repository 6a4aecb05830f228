-- The database's own limit for GET /v1/products/{id}: the primary-key
-- SELECT the API runs. bench_ids numbers the products 1..N (bench/run.sh
-- makes it) and pgbench is given -D products=N.
\set n random(1, :products)
SELECT p.* FROM products p JOIN bench_ids b ON b.id = p.id WHERE b.n = :n AND p.deleted_at IS NULL;
