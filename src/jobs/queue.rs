//! The jobs table's operations: enqueue, claim, renew a lease, and record how a job ended.
//!
//! Written here rather than with a crate: fang's diesel backend and apalis's SQL storage each
//! take a concrete `PgConnection` or `SqliteConnection` (or their own sqlx pool), not our
//! `MultiConnection`, and the claim is one statement per backend.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use crate::db::schema::jobs;
use crate::db::DbConnection;
use crate::errors::{AppError, ResultExt};

/// A job as a worker holds it.
#[derive(Debug, Clone, QueryableByName, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: NaiveDateTime,
    pub last_error: String,
    pub progress: i32,
    pub user_id: Option<i32>,
    pub updated_at: NaiveDateTime,
}

/// A job to add to the queue.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: String,
    pub user_id: Option<i32>,
    pub max_attempts: i32,
}

/// Adds a job, due at once; its id.
pub fn enqueue(conn: &mut DbConnection, job: NewJob) -> Result<i64, AppError> {
    let now = Utc::now().naive_utc();
    crate::on_each_backend!(conn, |conn| diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(job.kind),
            jobs::payload.eq(&job.payload),
            jobs::max_attempts.eq(job.max_attempts),
            jobs::run_at.eq(now),
            jobs::user_id.eq(job.user_id),
            jobs::created_at.eq(now),
            jobs::updated_at.eq(now),
        ))
        .returning(jobs::id)
        .get_result(conn))
    .context("Failed to add a job")
}

/// Which jobs are due: queued or retrying whose time has come, or running whose worker let the
/// lease run out (it died, or lost the database).
const DUE: &str = "((status IN ('queued', 'retrying') AND run_at <= $1) \
                   OR (status = 'running' AND lease_until < $1))";

/// Takes the next due job for this worker, holding it for `lease`; `None` if none is due. One
/// statement: PostgreSQL's `FOR UPDATE SKIP LOCKED` lets two instances claim two different
/// jobs at once; SQLite has one writer at a time, so its `UPDATE … RETURNING` is atomic.
pub fn claim(conn: &mut DbConnection, lease: TimeDelta) -> Result<Option<Job>, AppError> {
    let now = Utc::now().naive_utc();
    // A read first: polling an empty queue takes no write lock on SQLite.
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let look = placeholders(
        postgres,
        &format!("SELECT count(*) AS count FROM (SELECT id FROM jobs WHERE {DUE} LIMIT 1) AS due"),
    );
    let due: i64 = crate::on_each_backend!(conn, |conn| diesel::sql_query(&look)
        .bind::<Timestamp, _>(now)
        .get_result::<Count>(conn))
    .map(|row| row.count)
    .context("Failed to look for a due job")?;
    if due == 0 {
        return Ok(None);
    }
    let claim = |skip_locked: &str| {
        format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $2, \
             updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE {DUE} ORDER BY run_at, id \
             LIMIT 1{skip_locked}) RETURNING id, kind, payload, status, attempts, max_attempts, \
             run_at, last_error, progress, user_id, updated_at"
        )
    };
    let until = now + lease;
    let job = match conn {
        DbConnection::Postgresql(conn) => diesel::sql_query(claim(" FOR UPDATE SKIP LOCKED"))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(until)
            .get_result::<Job>(conn)
            .optional(),
        DbConnection::Sqlite(conn) => diesel::sql_query(placeholders(false, &claim("")))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(until)
            .get_result::<Job>(conn)
            .optional(),
    };
    job.context("Failed to claim a job")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// `sql` with PostgreSQL's numbered placeholders, or SQLite's (`?NNN`, which may repeat).
fn placeholders(postgres: bool, sql: &str) -> String {
    if postgres {
        sql.to_string()
    } else {
        sql.replace("$1", "?1").replace("$2", "?2")
    }
}

/// Extends the lease of a job this worker still holds; whether it still does.
pub fn renew(conn: &mut DbConnection, id: i64, lease: TimeDelta) -> Result<bool, AppError> {
    let now = Utc::now().naive_utc();
    let updated = diesel::update(jobs::table.find(id).filter(jobs::status.eq("running")))
        .set((jobs::lease_until.eq(now + lease), jobs::updated_at.eq(now)))
        .execute(conn)
        .context("Failed to renew a job's lease")?;
    Ok(updated > 0)
}

/// Records the job's progress, in percent (never 100 before it has succeeded).
pub fn set_progress(conn: &mut DbConnection, id: i64, percent: i32) -> Result<(), AppError> {
    diesel::update(jobs::table.find(id).filter(jobs::status.eq("running")))
        .set(jobs::progress.eq(percent.clamp(0, 99)))
        .execute(conn)
        .context("Failed to record a job's progress")?;
    Ok(())
}

/// How a job ended this time.
pub enum Outcome {
    Succeeded,
    /// Failed; tried again at `at`.
    Retry {
        at: NaiveDateTime,
        error: String,
    },
    /// Failed for the last time.
    Dead {
        error: String,
    },
    /// Handed back unfinished (the process is stopping): due again at once, the attempt not
    /// counted.
    HandedBack,
}

/// Records how the job ended.
pub fn finish(conn: &mut DbConnection, id: i64, outcome: &Outcome) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let job = jobs::table.find(id);
    let done = match outcome {
        Outcome::Succeeded => diesel::update(job)
            .set((
                jobs::status.eq("succeeded"),
                jobs::progress.eq(100),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Outcome::Retry { at, error } => diesel::update(job)
            .set((
                jobs::status.eq("retrying"),
                jobs::run_at.eq(at),
                jobs::last_error.eq(error),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Outcome::Dead { error } => diesel::update(job)
            .set((
                jobs::status.eq("dead"),
                jobs::last_error.eq(error),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Outcome::HandedBack => diesel::update(job)
            .set((
                jobs::status.eq("queued"),
                jobs::attempts.eq(jobs::attempts - 1),
                jobs::run_at.eq(now),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
    };
    done.context("Failed to record how a job ended")?;
    Ok(())
}

/// Makes a retrying or dead job due at once (a dead one gets one more attempt); whether there
/// was such a job.
pub fn retry_now(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let now = Utc::now().naive_utc();
    let updated = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq_any(["retrying", "dead"])),
    )
    .set((
        jobs::status.eq("retrying"),
        jobs::run_at.eq(now),
        jobs::max_attempts.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "CASE WHEN status = 'dead' THEN attempts + 1 ELSE max_attempts END",
        )),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)
    .context("Failed to retry a job")?;
    Ok(updated > 0)
}

/// The user's latest job of `kind`, if any.
pub fn latest_of(
    conn: &mut DbConnection,
    kind: &str,
    user_id: i32,
) -> Result<Option<Job>, AppError> {
    jobs::table
        .filter(jobs::kind.eq(kind.to_string()))
        .filter(jobs::user_id.eq(user_id))
        .order(jobs::id.desc())
        .select(Job::as_select())
        .first(conn)
        .optional()
        .context("Failed to load a user's latest job")
}

/// The job `id`, if there is one.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Job>, AppError> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()
        .context("Failed to load a job")
}
