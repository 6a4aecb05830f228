-- Holds: stock set aside for a cart or an order until it is committed (a
-- sale), released, or expires. A level's `reserved` is not stored: it is
-- the sum of its active holds whose `expires_at` is still ahead, summed
-- when read, so it is exact to the second and cannot drift from the holds.
CREATE TABLE holds (
    id          TEXT PRIMARY KEY,
    version     BIGINT NOT NULL CHECK (version >= 1),
    product_id  TEXT NOT NULL,
    location_id TEXT NOT NULL REFERENCES locations (id),
    quantity    BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 1000000000),
    status      TEXT NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
    expires_at  BIGINT NOT NULL,
    reference   TEXT,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- What `reserved` sums: only active holds are indexed, so the sum reads
-- the holds that may count and no others.
CREATE INDEX holds_active ON holds (product_id, location_id, expires_at) WHERE status = 'active';
-- What the expiry sweep looks for.
CREATE INDEX holds_expiring ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_by_product ON holds (product_id, id);
CREATE INDEX holds_by_reference ON holds (reference, id) WHERE reference IS NOT NULL;

-- The feed also carries notices that are not product versions: a hold as
-- changed, or a level left below its holds. `kind` names them (NULL is a
-- product version), `payload` is their JSON and `at` when they happened.
ALTER TABLE product_events ADD COLUMN kind TEXT;
ALTER TABLE product_events ADD COLUMN payload TEXT;
ALTER TABLE product_events ADD COLUMN at BIGINT;
