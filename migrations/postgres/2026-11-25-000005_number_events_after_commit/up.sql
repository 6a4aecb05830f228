-- Writers no longer number their events as they commit (that took one lock
-- for every write, so commits of different products queued behind each
-- other). They insert with `number` empty; the reader of the feed numbers
-- committed rows in batches, under an advisory lock only readers take, so
-- numbers still grow in the order they become visible and a reader that
-- has seen number n has seen every number below it.
ALTER TABLE product_events ADD COLUMN number BIGINT;
UPDATE product_events SET number = id;
CREATE UNIQUE INDEX product_events_number ON product_events (number);
CREATE INDEX product_events_unnumbered ON product_events (id) WHERE number IS NULL;
