ALTER TABLE product_history ADD FOREIGN KEY (product_id) REFERENCES products (id);
ALTER TABLE product_events
    ADD FOREIGN KEY (product_id, version) REFERENCES product_history (product_id, version);
