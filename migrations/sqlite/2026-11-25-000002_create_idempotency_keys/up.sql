-- One row per Idempotency-Key a caller sent. While `status` is NULL the
-- first request is still running (since `claimed_at`); once it is set, the
-- row holds the response to replay. Rows are purged a day after creation.
CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        TEXT,
    is_problem  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
