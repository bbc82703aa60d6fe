//! The error inbox's reads and the admins' actions on it: the groups (unresolved first), one
//! group with its latest occurrences, resolve / mute / reopen, and the retention that deletes
//! what was resolved long ago.

use chrono::{NaiveDateTime, TimeDelta, Timelike, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use serde::Serialize;

use super::counting::start_of_hour;
use crate::db::schema::{error_group_hours, error_groups, error_occurrences};
use crate::db::DbConnection;
use crate::errors::report::ErrorReport;
use crate::errors::{AppError, ResultExt};
use crate::models::{lower, page_window, Paginated};

/// What an admin decided about a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Failing, or not yet looked at.
    Unresolved,
    /// Fixed: a new occurrence reopens it as a regression.
    Resolved,
    /// Known and accepted: counted, never mailed.
    Muted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unresolved => "unresolved",
            Status::Resolved => "resolved",
            Status::Muted => "muted",
        }
    }
}

/// One group of failures, as the inbox lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_groups)]
pub struct Group {
    pub id: String,
    pub fingerprint: String,
    pub title: String,
    pub status: String,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub occurrences: i64,
    pub users_affected: i64,
}

/// One of a group's latest occurrences, with its report.
#[derive(Debug)]
pub struct Occurrence {
    pub seen_at: NaiveDateTime,
    pub request_id: String,
    pub report: ErrorReport,
}

/// Which groups to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
    /// Words the title contains, regardless of case.
    pub search: Option<String>,
}

/// The groups that match `filter`, unresolved first, then the most recently seen.
pub fn groups(
    conn: &mut DbConnection,
    filter: &Filter,
    page: i64,
    per_page: i64,
) -> Result<Paginated<Group>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    let mut query = error_groups::table
        .select(Group::as_select())
        .order((
            sql::<Integer>("CASE WHEN status = 'unresolved' THEN 0 ELSE 1 END"),
            error_groups::last_seen.desc(),
            error_groups::id,
        ))
        .offset(offset)
        .limit(limit)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(error_groups::status.eq(status.as_str()));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        // `%` and `_` typed by the admin are literal characters, not wildcards.
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(
            lower(error_groups::title)
                .like(lower(format!("%{escaped}%")))
                .escape('\\'),
        );
    }
    let rows = query
        .load(conn)
        .context("Failed to list the error groups")?;
    Ok(Paginated::from_rows(rows, page, per_page))
}

/// The group `id`, if there is one.
pub fn group(conn: &mut DbConnection, id: &str) -> Result<Option<Group>, AppError> {
    error_groups::table
        .find(id)
        .select(Group::as_select())
        .first(conn)
        .optional()
        .context("Failed to load an error group")
}

/// The group's latest occurrences, newest first.
pub fn occurrences(conn: &mut DbConnection, id: &str) -> Result<Vec<Occurrence>, AppError> {
    let rows: Vec<(NaiveDateTime, String, String)> = error_occurrences::table
        .filter(error_occurrences::group_id.eq(id))
        .order(error_occurrences::id.desc())
        .select((
            error_occurrences::seen_at,
            error_occurrences::request_id,
            error_occurrences::report,
        ))
        .load(conn)
        .context("Failed to load an error's occurrences")?;
    Ok(rows
        .into_iter()
        // A report this version cannot read is left out rather than failing the page.
        .filter_map(|(seen_at, request_id, report)| {
            Some(Occurrence {
                seen_at,
                request_id,
                report: serde_json::from_str(&report).ok()?,
            })
        })
        .collect())
}

/// The occurrences of each of `ids` in each of the last 24 hours, oldest hour first.
pub fn last_day(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<Vec<(String, [i64; 24])>, AppError> {
    let this_hour = start_of_hour(Utc::now().naive_utc());
    let first_hour = this_hour - TimeDelta::hours(23);
    let rows: Vec<(String, NaiveDateTime, i64)> = error_group_hours::table
        .filter(error_group_hours::group_id.eq_any(ids))
        .filter(error_group_hours::hour.ge(first_hour))
        .select((
            error_group_hours::group_id,
            error_group_hours::hour,
            error_group_hours::occurrences,
        ))
        .load(conn)
        .context("Failed to load the errors' last day")?;
    Ok(ids
        .iter()
        .map(|id| {
            let mut hours = [0; 24];
            for (_, hour, count) in rows.iter().filter(|(group, ..)| group == id) {
                let index = (*hour - first_hour).num_hours();
                if let Some(slot) = usize::try_from(index).ok().and_then(|i| hours.get_mut(i)) {
                    *slot += count;
                }
            }
            (id.clone(), hours)
        })
        .collect())
}

/// Sets the group's status; whether there was such a group. Reopening asks no mail for what
/// was counted meanwhile; resolving starts the clock of ERROR_RETENTION_DAYS.
pub fn set_status(conn: &mut DbConnection, id: &str, status: Status) -> Result<bool, AppError> {
    // Whole milliseconds, as reports write their time: a failure in the same millisecond as
    // the resolve counts as after it.
    let now = Utc::now().naive_utc();
    let now = now
        .with_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    let resolved_at = (status == Status::Resolved).then_some(now);
    let updated = diesel::update(error_groups::table.find(id))
        .set((
            error_groups::status.eq(status.as_str()),
            error_groups::resolved_at.eq(resolved_at),
            error_groups::mailed.eq(error_groups::occurrences),
            error_groups::announce.eq(""),
        ))
        .execute(conn)
        .context("Failed to change an error group's status")?;
    Ok(updated > 0)
}

/// How many groups are unresolved (the navigation shows it to admins).
pub fn unresolved_count(conn: &mut DbConnection) -> Result<i64, AppError> {
    error_groups::table
        .filter(error_groups::status.eq(Status::Unresolved.as_str()))
        .count()
        .get_result(conn)
        .context("Failed to count the unresolved errors")
}

/// Deletes the groups resolved more than `retention` ago (their occurrences, users and hours
/// go with them) and the hours older than a day; how many groups went.
pub fn delete_expired(conn: &mut DbConnection, retention: TimeDelta) -> Result<usize, AppError> {
    let now = Utc::now().naive_utc();
    let expired = || {
        error_groups::table
            .filter(error_groups::status.eq(Status::Resolved.as_str()))
            .filter(error_groups::resolved_at.le(now - retention))
    };
    // Read first: a check that finds nothing takes no write lock on SQLite.
    let ids: Vec<String> = expired()
        .select(error_groups::id)
        .limit(100)
        .load(conn)
        .context("Failed to find the expired error groups")?;
    if !ids.is_empty() {
        // The same conditions again: a group reopened since it was read is kept.
        diesel::delete(expired().filter(error_groups::id.eq_any(&ids)))
            .execute(conn)
            .context("Failed to delete the expired error groups")?;
    }
    let old_hour = start_of_hour(now) - TimeDelta::hours(24);
    let old_hours: i64 = error_group_hours::table
        .filter(error_group_hours::hour.lt(old_hour))
        .count()
        .get_result(conn)
        .context("Failed to count the errors' old hours")?;
    if old_hours > 0 {
        diesel::delete(error_group_hours::table.filter(error_group_hours::hour.lt(old_hour)))
            .execute(conn)
            .context("Failed to delete the errors' old hours")?;
    }
    Ok(ids.len())
}
