-- Usernames and emails are unique regardless of case: the NOCASE collation makes both the unique
-- index and every `username = ?` lookup case-insensitive. These indexes are the last guard
-- behind the form validation, for two requests that race past it.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
    email         TEXT NOT NULL COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 120),
    password_hash TEXT NOT NULL,
    about_me      TEXT NOT NULL DEFAULT '' CHECK (length(about_me) <= 140),
    last_seen     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE posts (
    id        INTEGER PRIMARY KEY NOT NULL,
    body      TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 140),
    timestamp TIMESTAMP NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
-- Covering index for the timelines, newest first: without it every page read and sorted all posts.
CREATE INDEX posts_timestamp_user_id ON posts (timestamp, user_id);
CREATE INDEX posts_user_id_timestamp ON posts (user_id, timestamp);

CREATE TABLE followers (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (follower_id, followed_id),
    CHECK (follower_id <> followed_id)
) WITHOUT ROWID;
CREATE INDEX followers_followed_id ON followers (followed_id, follower_id);
