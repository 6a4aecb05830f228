-- The feed's number moves to a column of its own, as on PostgreSQL, where
-- readers number committed rows. SQLite's one writer numbers its rows in
-- its own transaction (number = id), which is already commit order.
ALTER TABLE product_events ADD COLUMN number BIGINT;
UPDATE product_events SET number = id;
CREATE UNIQUE INDEX product_events_number ON product_events (number);
CREATE INDEX product_events_unnumbered ON product_events (id) WHERE number IS NULL;
