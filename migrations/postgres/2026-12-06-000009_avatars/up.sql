-- Avatars live in the database: every instance serves the same picture, a backup holds it, and
-- replacing one is a single transaction with nothing on disk to orphan or half-write.
-- `users.avatar_version` names the current picture in page URLs (so no page needs a join);
-- it is written in the same transaction as the row it names.
ALTER TABLE users ADD COLUMN avatar_version TEXT;
CREATE TABLE avatars (
    user_id    INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version    TEXT NOT NULL CHECK (length(version) = 16),
    -- The PNG the app wrote (256 × 256): never what the client sent.
    image      BYTEA NOT NULL CHECK (octet_length(image) <= 1048576),
    updated_at TIMESTAMP NOT NULL
);
