DROP TABLE error_group_hours;
DROP TABLE error_group_users;
DROP TABLE error_occurrences;
DROP TABLE error_groups;
CREATE TABLE error_mail_counts (
    place_hash    TEXT PRIMARY KEY NOT NULL,
    occurrences   BIGINT NOT NULL,
    mailed        BIGINT NOT NULL DEFAULT 0,
    last_mail_at  TIMESTAMP NOT NULL,
    latest_report TEXT NOT NULL,
    request_ids   TEXT NOT NULL DEFAULT ''
);
