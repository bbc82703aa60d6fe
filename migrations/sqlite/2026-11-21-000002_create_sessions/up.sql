-- Logins held on the server, so that one can be ended: the session cookie carries a random
-- token, and only its SHA-256 hash is stored here. Logout deletes the row; a password reset
-- deletes every row of the user; rows past the idle or absolute limit no longer authenticate.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
