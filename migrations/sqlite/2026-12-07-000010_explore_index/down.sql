CREATE INDEX IF NOT EXISTS posts_timestamp_user_id ON posts (timestamp, user_id);
DROP INDEX IF EXISTS posts_timestamp;
