//! The API's statements for what the `hot` scenario does, as each client
//! sends them (both number their binds `$n`).

/// The API's `store::products::find_live`: by primary key, so no LIMIT.
pub const FIND_LIVE: &str = "SELECT id, sku, name, description, price_minor, currency, stock, \
    version, created_at, updated_at FROM products WHERE id = $1 AND deleted_at IS NULL";

/// The API's swap (`src/store/pg_swap.rs`): every field set, history and
/// feed recorded only if the version matched.
pub const SWAP: &str = "WITH swapped AS (UPDATE products SET sku = $2, name = $3, \
    description = $4, price_minor = $5, currency = $6, stock = $7, version = $8, \
    updated_at = $9 WHERE id = $1 AND version = $10 AND deleted_at IS NULL RETURNING 1), \
    recorded AS (INSERT INTO product_history (product_id, version, at, actor, operation, \
    reason, changes) SELECT $1, $8, $9, 'bare', 'update', NULL, $11 FROM swapped \
    RETURNING product_id, version) \
    INSERT INTO product_events (product_id, version) SELECT product_id, version FROM recorded";

/// The API's read before a write (`src/store/current_since.rs`): the
/// product, joined to each version after the client's, bounded by its own.
/// One row with a NULL version when there are none.
pub const CURRENT_SINCE: &str = "SELECT p.id, p.sku, p.name, p.description, p.price_minor, \
    p.currency, p.stock, p.version, p.created_at, p.updated_at, \
    h.version AS since_version, h.changes AS since_changes \
    FROM products p LEFT JOIN product_history h \
    ON h.product_id = p.id AND h.version > $2 AND h.version <= p.version \
    WHERE p.id = $1 AND p.deleted_at IS NULL ORDER BY h.version";

pub const CREATE: &str = "WITH created AS (INSERT INTO products (id, sku, name, description, \
    price_minor, currency, stock, version, created_at, updated_at) \
    VALUES ($1, $2, $2, '', $3, $4, $5, 1, $6, $6) RETURNING id), \
    recorded AS (INSERT INTO product_history (product_id, version, at, actor, operation, \
    reason, changes) SELECT id, 1, $6, 'bare', 'create', NULL, '{}' FROM created \
    RETURNING product_id, version) \
    INSERT INTO product_events (product_id, version) SELECT product_id, version FROM recorded";
