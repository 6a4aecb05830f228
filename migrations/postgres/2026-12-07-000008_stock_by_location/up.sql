-- Stock by location. A location's code is unique ignoring case among all
-- locations ever made, deleted ones included, so that a code in the ledger
-- always names one place.
CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX locations_code ON locations (lower(code));

-- Every database has MAIN, where writes that name no location act. Its id
-- is fixed (and sorts before every UUID v7), so no write looks it up.
INSERT INTO locations (id, code, name, version, created_at, updated_at)
VALUES ('00000000-0000-7000-8000-000000000000', 'MAIN', 'Main', 1,
        (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
        (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);

-- One level per product and location, made on first use. A product's
-- `stock` is the sum of its levels' `on_hand`: every write of a level
-- writes the product in the same transaction, under the product's row
-- lock, which orders all writes of one product's levels.
CREATE TABLE stock_levels (
    product_id      TEXT NOT NULL,
    location_id     TEXT NOT NULL REFERENCES locations (id),
    on_hand         BIGINT NOT NULL CHECK (on_hand BETWEEN 0 AND 1000000000),
    version         BIGINT NOT NULL CHECK (version >= 1),
    updated_at      BIGINT NOT NULL,
    last_counted_at BIGINT,
    PRIMARY KEY (product_id, location_id)
);
CREATE INDEX stock_levels_by_location ON stock_levels (location_id, product_id);

-- Each product's present stock is at MAIN.
INSERT INTO stock_levels (product_id, location_id, on_hand, version, updated_at)
SELECT id, '00000000-0000-7000-8000-000000000000', stock, 1, updated_at FROM products;

-- The ledger: a version that changed a level says where, by how much, to
-- what, how, and against which receipt or note.
ALTER TABLE product_history ADD COLUMN location TEXT;
ALTER TABLE product_history ADD COLUMN level_version BIGINT;
ALTER TABLE product_history ADD COLUMN delta BIGINT;
ALTER TABLE product_history ADD COLUMN on_hand BIGINT;
ALTER TABLE product_history ADD COLUMN kind TEXT;
ALTER TABLE product_history ADD COLUMN reference TEXT;

-- Earlier stock changes were all at what is now MAIN; they keep no level
-- version, since the level did not exist.
UPDATE product_history
SET location = 'MAIN',
    delta = (changes::jsonb -> 'stock' ->> 'to')::bigint
            - coalesce((changes::jsonb -> 'stock' ->> 'from')::bigint, 0),
    on_hand = (changes::jsonb -> 'stock' ->> 'to')::bigint,
    kind = CASE operation
               WHEN 'stock_adjustment' THEN 'adjust'
               WHEN 'stock_sync' THEN 'count'
               ELSE 'set'
           END
WHERE changes::jsonb ? 'stock';

-- A token may be limited to some locations' stock: a JSON array of their
-- codes in lower case, or NULL for every location.
ALTER TABLE tokens ADD COLUMN locations TEXT;
