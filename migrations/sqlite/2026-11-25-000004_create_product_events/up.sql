-- Every product version, numbered in commit order: the feed behind
-- GET /v1/events, which a client resumes from the last number it saw
-- (Last-Event-ID). SQLite has one writer at a time, so numbers follow
-- commit order; AUTOINCREMENT never hands a number out twice.
CREATE TABLE product_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL,
    version    BIGINT NOT NULL,
    FOREIGN KEY (product_id, version) REFERENCES product_history (product_id, version)
);
