-- Case-insensitive uniqueness as both databases can write it: a unique index on lower(...).
-- Lookups compare lower(username) = lower(?), which this index serves. The indexes keep their
-- names, which is how `errors/conversions.rs` tells a taken username from a taken email.
DROP INDEX users_username_key;
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
