-- PostgreSQL's products table leaves half of each page free for its rows'
-- next versions. SQLite rewrites a changed row in place and has no such
-- setting; this migration exists so that both backends have the same ones.
SELECT 1;
