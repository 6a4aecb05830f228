-- Ids are UUID strings and times are microseconds since the Unix epoch, so
-- that one diesel schema serves PostgreSQL and SQLite alike.
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    price_minor BIGINT NOT NULL CHECK (price_minor BETWEEN 0 AND 1000000000000),
    currency    TEXT NOT NULL,
    stock       BIGINT NOT NULL CHECK (stock BETWEEN 0 AND 1000000000),
    version     BIGINT NOT NULL CHECK (version >= 1),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);

-- A SKU is unique among live products, case-insensitively; a deleted
-- product frees its SKU.
CREATE UNIQUE INDEX products_live_sku ON products (lower(sku)) WHERE deleted_at IS NULL;

CREATE TABLE product_history (
    product_id TEXT NOT NULL REFERENCES products (id),
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    operation  TEXT NOT NULL,
    reason     TEXT,
    changes    TEXT NOT NULL,
    PRIMARY KEY (product_id, version)
);
