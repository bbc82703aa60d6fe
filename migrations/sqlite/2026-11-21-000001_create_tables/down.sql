DROP TABLE followers;
DROP TABLE posts;
DROP TABLE users;
