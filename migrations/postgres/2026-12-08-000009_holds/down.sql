DELETE FROM product_events WHERE kind IS NOT NULL;
ALTER TABLE product_events DROP COLUMN at;
ALTER TABLE product_events DROP COLUMN payload;
ALTER TABLE product_events DROP COLUMN kind;
DROP TABLE holds;
