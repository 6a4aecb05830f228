ALTER TABLE tokens DROP COLUMN locations;
ALTER TABLE product_history DROP COLUMN reference;
ALTER TABLE product_history DROP COLUMN kind;
ALTER TABLE product_history DROP COLUMN on_hand;
ALTER TABLE product_history DROP COLUMN delta;
ALTER TABLE product_history DROP COLUMN level_version;
ALTER TABLE product_history DROP COLUMN location;
DROP TABLE stock_levels;
DROP TABLE locations;
