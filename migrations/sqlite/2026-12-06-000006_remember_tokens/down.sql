DROP TABLE remember_tokens;
