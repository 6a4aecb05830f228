DROP INDEX product_events_unnumbered;
DROP INDEX product_events_number;
ALTER TABLE product_events DROP COLUMN number;
