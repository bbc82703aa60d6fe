-- "Remember me" held on the server, as logins are: the remember-me cookie carries a random
-- token, and only its SHA-256 hash is stored here. Logout deletes the browser's row, a password
-- reset every row of the user; a copied cookie is worthless from then on.
CREATE TABLE remember_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX remember_tokens_user_id ON remember_tokens (user_id, created_at);
