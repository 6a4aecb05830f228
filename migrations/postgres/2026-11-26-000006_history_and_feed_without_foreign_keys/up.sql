-- History and feed rows are written only in the transaction that writes the
-- product version they record (creation, a compare-and-swap, an adjustment,
-- a stock sync), from that very row, and nothing deletes products, history
-- or events. So the foreign keys only re-checked what the writes already
-- guarantee, at one lookup and one row lock for each row written: about a
-- third of a 1000-item stock sync's database time (10 of 29 ms).
ALTER TABLE product_events DROP CONSTRAINT product_events_product_id_version_fkey;
ALTER TABLE product_history DROP CONSTRAINT product_history_product_id_fkey;
