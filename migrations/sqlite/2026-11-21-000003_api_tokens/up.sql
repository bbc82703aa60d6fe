-- Roles for the API ("only admins can reach /api/admin"), and API logins: each token pair
-- (a short-lived JWT and an opaque refresh token) belongs to one row. The refresh token is
-- stored only as its SHA-256 hash and replaced on every use; deleting the row revokes the
-- refresh token and every access token issued under it.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';

CREATE TABLE api_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    refresh_expires_at TIMESTAMP NOT NULL
);

CREATE INDEX api_sessions_user_id ON api_sessions (user_id);
