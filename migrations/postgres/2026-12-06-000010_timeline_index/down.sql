CREATE INDEX posts_user_id_timestamp ON posts (user_id, timestamp);
DROP INDEX posts_user_id_timestamp_id;
