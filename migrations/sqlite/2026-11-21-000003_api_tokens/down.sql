DROP TABLE api_sessions;
ALTER TABLE users DROP COLUMN role;
