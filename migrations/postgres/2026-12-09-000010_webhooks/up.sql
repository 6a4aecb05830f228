-- Webhook subscriptions: where to deliver which events of the feed, with
-- the secret that signs them, and how far delivery has got. The delivery
-- state (cursor, failures, lease) never moves `version`: only what an
-- admin changes, and the server disabling a failing subscription, do.
CREATE TABLE webhooks (
    id                       TEXT PRIMARY KEY,
    version                  BIGINT NOT NULL CHECK (version >= 1),
    url                      TEXT NOT NULL,
    -- A JSON array of event types.
    events                   TEXT NOT NULL,
    enabled                  BOOLEAN NOT NULL,
    disabled_reason          TEXT,
    secret                   TEXT NOT NULL,
    -- During a rotation's grace, the secret before it signs too.
    previous_secret          TEXT,
    previous_secret_until    BIGINT,
    -- The feed number up to which every wanted event was delivered.
    delivered_through        BIGINT NOT NULL,
    -- Failed attempts at the event after `delivered_through`, since when,
    -- and when the next one is due.
    attempts                 INTEGER NOT NULL DEFAULT 0,
    failing_since            BIGINT,
    next_attempt_at          BIGINT NOT NULL,
    -- One instance at a time delivers a subscription: the one whose lease
    -- has not lapsed.
    lease_owner              TEXT,
    lease_until              BIGINT NOT NULL DEFAULT 0,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE enabled;

-- Every attempt to deliver an event, for the delivery log.
CREATE TABLE webhook_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    webhook_id   TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_number BIGINT NOT NULL,
    event_type   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at           BIGINT NOT NULL,
    succeeded    BOOLEAN NOT NULL,
    status       INTEGER,
    latency_ms   BIGINT NOT NULL,
    response     TEXT,
    error        TEXT
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Low stock: a level may have a reorder point; `low` says whether its
-- `available` was below it at the last change, so that `stock.low` and
-- `stock.ok` are told once per crossing. The levels the crossing sweep
-- looks at are indexed, so it reads only those.
ALTER TABLE stock_levels ADD COLUMN reorder_point BIGINT CHECK (reorder_point BETWEEN 0 AND 1000000000);
ALTER TABLE stock_levels ADD COLUMN low BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX stock_levels_watched ON stock_levels (product_id) WHERE reorder_point IS NOT NULL OR low;
