//! The one count behind the error inbox and the error mails: the occurrences a process held in
//! memory (`mail/error_reports`), added to their group in the database in one transaction per
//! batch, off every request's path. A group that was resolved and fails again is reopened as a
//! regression here; a muted one goes on counting, with nothing left for a mail.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::upsert::excluded;

use super::fingerprint::group_id;
use crate::db::schema::{error_group_hours, error_group_users, error_groups, error_occurrences};
use crate::db::DbConnection;
use crate::errors::report::ErrorReport;
use crate::errors::{AppError, ResultExt};
use crate::on_each_backend;

/// The occurrences each group keeps (the latest), with their reports.
pub const OCCURRENCES_KEPT: i64 = 20;

/// Reports held in memory per group between two counts: the latest few of a flood are enough
/// to keep (the database keeps [`OCCURRENCES_KEPT`] across counts).
const REPORTS_HELD: usize = 3;

/// Request ids held per group for the mail that counts them.
const IDS_HELD: usize = 100;

/// Distinct users held per group between two counts.
const USERS_HELD: usize = 100;

/// How many request ids a group keeps between two mails (about 100 ids).
const IDS_TEXT_LIMIT: i32 = 4000;

/// A group's title: the error's headline, one line, at most this many characters.
const TITLE_CHARS: usize = 200;

/// Occurrences of one group that this process has not yet counted in the database.
pub struct Held {
    pub count: u64,
    /// The latest reports, oldest first (at most [`REPORTS_HELD`]).
    pub reports: Vec<ErrorReport>,
    /// The request ids of the first few, for the mail that counts them.
    pub ids: Vec<String>,
    /// The distinct logged-in users among them.
    pub users: Vec<i32>,
}

impl Held {
    pub fn new(report: ErrorReport) -> Self {
        let mut held = Held {
            count: 0,
            reports: Vec::new(),
            ids: Vec::new(),
            users: Vec::new(),
        };
        held.add(report);
        held
    }

    /// One more occurrence.
    pub fn add(&mut self, report: ErrorReport) {
        self.count += 1;
        if self.ids.len() < IDS_HELD && !report.id.is_empty() {
            self.ids.push(report.id.clone());
        }
        if let Some(user) = report.user_id {
            if self.users.len() < USERS_HELD && !self.users.contains(&user) {
                self.users.push(user);
            }
        }
        if self.reports.len() == REPORTS_HELD {
            self.reports.remove(0);
        }
        self.reports.push(report);
    }

    /// Takes back `older` occurrences that could not be counted, before these.
    pub fn put_back(&mut self, mut older: Held) {
        self.count += older.count;
        older.ids.truncate(IDS_HELD.saturating_sub(self.ids.len()));
        older.ids.append(&mut self.ids);
        self.ids = older.ids;
        for user in older.users {
            if self.users.len() < USERS_HELD && !self.users.contains(&user) {
                self.users.push(user);
            }
        }
        let room = REPORTS_HELD - self.reports.len().min(REPORTS_HELD);
        let skip = older.reports.len().saturating_sub(room);
        let mut reports: Vec<ErrorReport> = older.reports.into_iter().skip(skip).collect();
        reports.append(&mut self.reports);
        self.reports = reports;
    }

    /// The reports alone, the occurrences already counted: kept until the reports are written.
    pub fn reports_only(self) -> Held {
        Held {
            count: 0,
            reports: self.reports,
            ids: Vec::new(),
            users: Vec::new(),
        }
    }

    /// The latest report (there is always one).
    pub fn latest(&self) -> Option<&ErrorReport> {
        self.reports.last()
    }
}

/// Adds `held`, the occurrences of the failure whose fingerprint is `place`, to its group:
/// the counts, the users affected, the hourly chart, and with `keep_reports` the latest
/// occurrences (at most [`OCCURRENCES_KEPT`]; the caller asks for them at most once a second,
/// so a flood of failures does not turn into a flood of writes). Call it inside a write
/// transaction.
pub fn count(
    conn: &mut DbConnection,
    place: &str,
    held: &Held,
    keep_reports: bool,
) -> Result<(), AppError> {
    let Some(latest) = held.latest() else {
        return Ok(());
    };
    let id = group_id(place);
    let now = Utc::now().naive_utc();
    // When the latest failure happened, not when it was counted: an occurrence held in memory
    // from before an admin resolved the group must not reopen it.
    let seen = DateTime::parse_from_rfc3339(&latest.time)
        .map(|time| time.naive_utc())
        .unwrap_or(now)
        .min(now);
    let report = serde_json::to_string(latest)
        .map_err(|error| AppError::unexpected(error).context("Failed to store an error report"))?;
    let occurrences = i64::try_from(held.count).unwrap_or(i64::MAX);
    let title: String = latest.headline().chars().take(TITLE_CHARS).collect();
    // A new group starts as never mailed, so its first occurrence is mailed at once.
    let never = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
    // The row as it was, in every expression below: a resolved group that fails again is
    // reopened, and its next mail announces the regression at once; a muted one counts its
    // occurrences as mailed, so nothing waits for a mail when it is reopened.
    let reopened = "error_groups.status = 'resolved' \
                    AND excluded.last_seen >= error_groups.resolved_at";
    let status = sql::<Text>(&format!(
        "CASE WHEN {reopened} THEN 'unresolved' ELSE error_groups.status END"
    ));
    let announce = sql::<Text>(&format!(
        "CASE WHEN {reopened} THEN 'regression' ELSE error_groups.announce END"
    ));
    let mailed = sql::<BigInt>(&format!(
        "CASE WHEN {reopened} THEN error_groups.occurrences \
         WHEN error_groups.status = 'muted' THEN error_groups.mailed + excluded.occurrences \
         ELSE error_groups.mailed END"
    ));
    let last_mail_at = sql::<Timestamp>(&format!(
        "CASE WHEN {reopened} THEN excluded.last_mail_at ELSE error_groups.last_mail_at END"
    ));
    let resolved_at = sql::<Nullable<Timestamp>>(&format!(
        "CASE WHEN {reopened} THEN NULL ELSE error_groups.resolved_at END"
    ));
    let request_ids = sql::<Text>(&format!(
        "CASE WHEN {reopened} THEN excluded.request_ids \
         WHEN length(error_groups.request_ids) < {IDS_TEXT_LIMIT} \
         THEN error_groups.request_ids || ' ' || excluded.request_ids \
         ELSE error_groups.request_ids END"
    ));
    on_each_backend!(conn, |conn| diesel::insert_into(error_groups::table)
        .values((
            error_groups::id.eq(&id),
            error_groups::fingerprint.eq(place),
            error_groups::title.eq(&title),
            error_groups::first_seen.eq(seen),
            error_groups::last_seen.eq(seen),
            error_groups::occurrences.eq(occurrences),
            error_groups::last_mail_at.eq(never),
            error_groups::latest_report.eq(&report),
            error_groups::request_ids.eq(held.ids.join(" ")),
        ))
        .on_conflict(error_groups::id)
        .do_update()
        .set((
            error_groups::occurrences
                .eq(error_groups::occurrences + excluded(error_groups::occurrences)),
            error_groups::title.eq(excluded(error_groups::title)),
            error_groups::last_seen.eq(sql::<Timestamp>(
                "CASE WHEN excluded.last_seen > error_groups.last_seen \
                 THEN excluded.last_seen ELSE error_groups.last_seen END",
            )),
            error_groups::latest_report.eq(excluded(error_groups::latest_report)),
            error_groups::status.eq(status),
            error_groups::announce.eq(announce),
            error_groups::mailed.eq(mailed),
            error_groups::last_mail_at.eq(last_mail_at),
            error_groups::resolved_at.eq(resolved_at),
            error_groups::request_ids.eq(request_ids),
        ))
        .execute(conn))
    .context("Failed to count an error in its group")?;
    if keep_reports {
        keep_occurrences(conn, &id, &held.reports, now)?;
    }
    count_users(conn, &id, &held.users)?;
    count_hour(conn, &id, occurrences, now)
}

/// Stores the latest reports and deletes the group's older ones past [`OCCURRENCES_KEPT`].
fn keep_occurrences(
    conn: &mut DbConnection,
    id: &str,
    reports: &[ErrorReport],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for report in reports {
        let text = serde_json::to_string(report).map_err(|error| {
            AppError::unexpected(error).context("Failed to store an error report")
        })?;
        diesel::insert_into(error_occurrences::table)
            .values((
                error_occurrences::group_id.eq(id),
                error_occurrences::seen_at.eq(now),
                error_occurrences::request_id.eq(&report.id),
                error_occurrences::report.eq(&text),
            ))
            .execute(conn)
            .context("Failed to store an occurrence of an error")?;
    }
    let oldest_kept: Option<i64> = error_occurrences::table
        .filter(error_occurrences::group_id.eq(id))
        .order(error_occurrences::id.desc())
        .offset(OCCURRENCES_KEPT - 1)
        .select(error_occurrences::id)
        .first(conn)
        .optional()
        .context("Failed to find an error's oldest occurrence kept")?;
    if let Some(oldest_kept) = oldest_kept {
        diesel::delete(
            error_occurrences::table
                .filter(error_occurrences::group_id.eq(id))
                .filter(error_occurrences::id.lt(oldest_kept)),
        )
        .execute(conn)
        .context("Failed to delete an error's older occurrences")?;
    }
    Ok(())
}

/// Adds the users not yet counted for the group to its `users_affected`.
fn count_users(conn: &mut DbConnection, id: &str, users: &[i32]) -> Result<(), AppError> {
    let mut added = 0;
    for user in users {
        added += on_each_backend!(conn, |conn| diesel::insert_into(error_group_users::table)
            .values((
                error_group_users::group_id.eq(id),
                error_group_users::user_id.eq(user),
            ))
            .on_conflict_do_nothing()
            .execute(conn))
        .context("Failed to count a user affected by an error")?;
    }
    if added > 0 {
        diesel::update(error_groups::table.find(id))
            .set(error_groups::users_affected.eq(error_groups::users_affected + added as i64))
            .execute(conn)
            .context("Failed to count the users affected by an error")?;
    }
    Ok(())
}

/// Adds `occurrences` to the group's count for the current hour.
fn count_hour(
    conn: &mut DbConnection,
    id: &str,
    occurrences: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let hour = start_of_hour(now);
    on_each_backend!(conn, |conn| diesel::insert_into(error_group_hours::table)
        .values((
            error_group_hours::group_id.eq(id),
            error_group_hours::hour.eq(hour),
            error_group_hours::occurrences.eq(occurrences),
        ))
        .on_conflict((error_group_hours::group_id, error_group_hours::hour))
        .do_update()
        .set(
            error_group_hours::occurrences
                .eq(error_group_hours::occurrences + excluded(error_group_hours::occurrences)),
        )
        .execute(conn))
    .context("Failed to count an error's hour")?;
    Ok(())
}

/// The hour `time` falls in.
pub fn start_of_hour(time: NaiveDateTime) -> NaiveDateTime {
    time.with_minute(0)
        .and_then(|time| time.with_second(0))
        .and_then(|time| time.with_nanosecond(0))
        .unwrap_or(time)
}
