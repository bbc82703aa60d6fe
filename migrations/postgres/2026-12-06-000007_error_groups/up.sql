-- `../sqlite/2026-12-06-000007_error_groups` in PostgreSQL's words: a BIGSERIAL id for the occurrences (SQLite's INTEGER key is 64 bits already).
-- The error inbox, grown from the error mails' flood control (`error_mail_counts`): one row per
-- group of failures, shared by every instance on this database, counting for the inbox and for
-- the mails alike. The old counts only held mails back; they start again here.
DROP TABLE error_mail_counts;

-- `id` is the first 16 hex digits of the BLAKE2b digest of `fingerprint` (the error's kind and the
-- place in the code that failed), so every instance names a group alike, and the error page
-- can link to it before the count reaches the database.
CREATE TABLE error_groups (
    id             TEXT PRIMARY KEY NOT NULL,
    fingerprint    TEXT NOT NULL,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'unresolved'
                   CHECK (status IN ('unresolved', 'resolved', 'muted')),
    first_seen     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    resolved_at    TIMESTAMP,
    occurrences    BIGINT NOT NULL,
    users_affected BIGINT NOT NULL DEFAULT 0,
    -- The mails' flood control, as before: the mails so far counted `mailed` occurrences; an
    -- instance mails only if its UPDATE still finds the `mailed` and `last_mail_at` it read.
    mailed         BIGINT NOT NULL DEFAULT 0,
    last_mail_at   TIMESTAMP NOT NULL,
    -- What the next mail announces at once: 'new', 'regression', or '' (a summary of repeats).
    announce       TEXT NOT NULL DEFAULT 'new',
    latest_report  TEXT NOT NULL,
    request_ids    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX error_groups_by_status ON error_groups (status, last_seen);

-- The latest occurrences of each group (the counting keeps at most 20 per group).
CREATE TABLE error_occurrences (
    id         BIGSERIAL PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    seen_at    TIMESTAMP NOT NULL,
    request_id TEXT NOT NULL,
    report     TEXT NOT NULL
);
CREATE INDEX error_occurrences_by_group ON error_occurrences (group_id, id);

-- Who was affected, to count each user once per group.
CREATE TABLE error_group_users (
    group_id TEXT NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- Occurrences per hour, for each group's chart of the last 24 hours (older hours are pruned).
CREATE TABLE error_group_hours (
    group_id    TEXT NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    hour        TIMESTAMP NOT NULL,
    occurrences BIGINT NOT NULL,
    PRIMARY KEY (group_id, hour)
);
CREATE INDEX error_group_hours_by_hour ON error_group_hours (hour);
