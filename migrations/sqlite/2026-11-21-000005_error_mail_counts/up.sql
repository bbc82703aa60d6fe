-- Flood control of the error mails, shared by every instance on this database: one row per
-- place in the code that failed, known by a hash of its description (which can be long). `occurrences` counts every failure there, from every instance;
-- the mails sent so far counted `mailed` of them. An instance mails about a place only if its
-- UPDATE that moves `mailed` and `last_mail_at` still finds the values it read, so two
-- instances never both send, and the counts of all the mails add up to `occurrences`.
CREATE TABLE error_mail_counts (
    place_hash    TEXT PRIMARY KEY NOT NULL,
    occurrences   BIGINT NOT NULL,
    mailed        BIGINT NOT NULL DEFAULT 0,
    last_mail_at  TIMESTAMP NOT NULL,
    latest_report TEXT NOT NULL,
    request_ids   TEXT NOT NULL DEFAULT ''
);
