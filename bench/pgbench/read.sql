-- The database's own limit for GET /v1/products/{id}: the primary-key
-- SELECT, run by pgbench -M prepared. bench_ids numbers the products 1..N:
--   CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM products;
--   ALTER TABLE bench_ids ADD PRIMARY KEY (n);
-- and pgbench is given -D products=N.
\set n random(1, :products)
SELECT p.* FROM products p JOIN bench_ids b ON b.id = p.id WHERE b.n = :n;
