DROP TABLE product_history;
DROP TABLE products;
