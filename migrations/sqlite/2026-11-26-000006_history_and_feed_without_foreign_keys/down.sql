CREATE TABLE product_history_rebuilt (
    product_id TEXT NOT NULL REFERENCES products (id),
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    operation  TEXT NOT NULL,
    reason     TEXT,
    changes    TEXT NOT NULL,
    PRIMARY KEY (product_id, version)
);
INSERT INTO product_history_rebuilt SELECT * FROM product_history;
DROP TABLE product_history;
ALTER TABLE product_history_rebuilt RENAME TO product_history;

CREATE TABLE product_events_rebuilt (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL,
    version    BIGINT NOT NULL,
    number     BIGINT,
    FOREIGN KEY (product_id, version) REFERENCES product_history (product_id, version)
);
INSERT INTO product_events_rebuilt (id, product_id, version, number)
    SELECT id, product_id, version, number FROM product_events;
UPDATE sqlite_sequence
    SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'product_events')
    WHERE name = 'product_events_rebuilt';
DROP TABLE product_events;
ALTER TABLE product_events_rebuilt RENAME TO product_events;
CREATE UNIQUE INDEX product_events_number ON product_events (number);
CREATE INDEX product_events_unnumbered ON product_events (id) WHERE number IS NULL;
