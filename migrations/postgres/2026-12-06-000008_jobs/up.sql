-- `../sqlite/2026-12-06-000008_jobs` in PostgreSQL's words: a BIGSERIAL id.
-- Background jobs, shared by every instance on this database. A worker claims a due job with
-- one conditional UPDATE (`src/jobs/queue.rs`), holds it by a lease it renews, and records how
-- it ended; a job whose worker died is due again once its lease has run out.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TIMESTAMP NOT NULL,
    lease_until  TIMESTAMP,
    last_error   TEXT NOT NULL DEFAULT '',
    progress     INTEGER NOT NULL DEFAULT 0,
    user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
-- One unfinished job of a kind per user (one export at a time): the last guard behind the check.
CREATE UNIQUE INDEX jobs_one_unfinished_per_user ON jobs (kind, user_id)
    WHERE status IN ('queued', 'running', 'retrying') AND user_id IS NOT NULL;
