-- Explore's order (timestamp, then id) straight from an index. Every SQLite index ends with the
-- row id, so (timestamp) alone is that order; (timestamp, user_id) put the user id before it,
-- and each explore page needed a temporary b-tree to put posts of the same second in id order.
-- It is built once, at the first start with this migration, before the server answers.
CREATE INDEX IF NOT EXISTS posts_timestamp ON posts (timestamp);
DROP INDEX IF EXISTS posts_timestamp_user_id;
