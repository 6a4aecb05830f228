DROP INDEX stock_levels_watched;
ALTER TABLE stock_levels DROP COLUMN low;
ALTER TABLE stock_levels DROP COLUMN reorder_point;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
