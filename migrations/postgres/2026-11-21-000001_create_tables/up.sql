-- The tables of `../sqlite/2026-11-21-000001_create_tables` in PostgreSQL's words: SERIAL ids,
-- and case-insensitive uniqueness as unique indexes on lower(...) (SQLite's NOCASE does not
-- exist here). These indexes are the last guard behind the form validation, for two requests
-- that race past it; their names tell `errors/conversions.rs` which field was taken.
CREATE TABLE users (
    id            SERIAL PRIMARY KEY,
    username      TEXT NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    email         TEXT NOT NULL CHECK (char_length(email) BETWEEN 3 AND 120),
    password_hash TEXT NOT NULL,
    about_me      TEXT NOT NULL DEFAULT '' CHECK (char_length(about_me) <= 140),
    last_seen     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE posts (
    id        SERIAL PRIMARY KEY,
    body      TEXT NOT NULL CHECK (char_length(body) BETWEEN 1 AND 140),
    timestamp TIMESTAMP NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
-- Covering indexes for the timelines, newest first.
CREATE INDEX posts_timestamp_user_id ON posts (timestamp, user_id);
CREATE INDEX posts_user_id_timestamp ON posts (user_id, timestamp);

CREATE TABLE followers (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (follower_id, followed_id),
    CHECK (follower_id <> followed_id)
);
CREATE INDEX followers_followed_id ON followers (followed_id, follower_id);
