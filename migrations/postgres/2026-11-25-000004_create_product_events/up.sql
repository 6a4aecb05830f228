-- Every product version, numbered in commit order: the feed behind
-- GET /v1/events, which a client resumes from the last number it saw
-- (Last-Event-ID). Writers insert under one transaction-level advisory
-- lock, so that numbers are handed out in the order transactions commit.
CREATE TABLE product_events (
    id         BIGSERIAL PRIMARY KEY,
    product_id TEXT NOT NULL,
    version    BIGINT NOT NULL,
    FOREIGN KEY (product_id, version) REFERENCES product_history (product_id, version)
);
