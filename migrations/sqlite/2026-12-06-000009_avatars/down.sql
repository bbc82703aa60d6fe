DROP TABLE avatars;
ALTER TABLE users DROP COLUMN avatar_version;
