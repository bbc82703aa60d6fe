//! The jobs as admins and upkeep see them: counts by status, pages of jobs, and the deletion of
//! finished jobs past their time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::queue::Job;
use crate::db::schema::jobs;
use crate::db::DbConnection;
use crate::errors::{AppError, ResultExt};
use crate::models::{page_window, Paginated};

/// How many jobs have each status.
pub fn counts(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, AppError> {
    jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load(conn)
        .context("Failed to count the jobs")
}

/// The latest jobs (with `status`, if given), most recently changed first.
pub fn latest(
    conn: &mut DbConnection,
    status: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<Paginated<Job>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    let mut query = jobs::table
        .select(Job::as_select())
        .order((jobs::updated_at.desc(), jobs::id.desc()))
        .offset(offset)
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(jobs::status.eq(status.to_string()));
    }
    let rows = query.load(conn).context("Failed to list the jobs")?;
    Ok(Paginated::from_rows(rows, page, per_page))
}

/// Deletes succeeded jobs last changed before `succeeded_before` and dead ones before
/// `dead_before`; how many went. Reads first: an idle check takes no write lock on SQLite.
pub fn delete_finished(
    conn: &mut DbConnection,
    succeeded_before: NaiveDateTime,
    dead_before: NaiveDateTime,
) -> Result<usize, AppError> {
    let old = || {
        jobs::table.filter(
            jobs::status
                .eq("succeeded")
                .and(jobs::updated_at.lt(succeeded_before))
                .or(jobs::status
                    .eq("dead")
                    .and(jobs::updated_at.lt(dead_before))),
        )
    };
    let found: i64 = old()
        .count()
        .get_result(conn)
        .context("Failed to count the finished jobs")?;
    if found == 0 {
        return Ok(0);
    }
    diesel::delete(old())
        .execute(conn)
        .context("Failed to delete the finished jobs")
}
