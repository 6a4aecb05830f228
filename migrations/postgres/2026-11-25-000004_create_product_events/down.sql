DROP TABLE product_events;
