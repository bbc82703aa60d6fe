//! The error mails' flood control, kept in the error inbox's groups (`error_groups`, counted
//! by `tracking/counting.rs`) so that every instance on one database shares it: a failure seen
//! by any instance is counted once, and only one instance mails about it per
//! ERROR_MAIL_INTERVAL. A muted group is never due.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

use crate::db::schema::error_groups as counts;
use crate::db::{write_transaction, DbConnection};
use crate::errors::report::ErrorReport;
use crate::errors::{AppError, ResultExt};

/// A group whose occurrences are due to be mailed, claimed by this instance.
pub(super) struct Claimed {
    /// The group's id, for the mail's link to it.
    pub(super) group: String,
    pub(super) report: ErrorReport,
    pub(super) occurrences: u64,
    pub(super) ids: Vec<String>,
    /// Whether an earlier mail was about the same error (this one counts its repeats).
    pub(super) repeats: bool,
    /// Whether the group was resolved and failed again.
    pub(super) regression: bool,
}

/// The groups (their ids) with occurrences no mail has counted yet, whose last mail is older
/// than `interval`, oldest first (at most `limit`); never a muted one.
pub(super) fn due(
    conn: &mut DbConnection,
    interval: TimeDelta,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let cutoff = Utc::now().naive_utc() - interval;
    counts::table
        .filter(counts::occurrences.gt(counts::mailed))
        .filter(counts::last_mail_at.le(cutoff))
        .filter(counts::status.ne("muted"))
        .order(counts::last_mail_at)
        .limit(limit)
        .select(counts::id)
        .load(conn)
        .context("Failed to list the errors due for a mail")
}

/// Takes the right to mail about the group `group`: every occurrence not yet mailed, except for
/// the mail that announces a new group or a regression, which counts its first occurrence
/// alone. The repeats that arrived with it wait for the summary: however the sender's batches
/// fall (a busy machine gathers more per batch), the admins hear of a new error once, at once,
/// and of its repeats after ERROR_MAIL_INTERVAL. `None` if another instance took it first, or
/// it is no longer due.
pub(super) fn claim(
    conn: &mut DbConnection,
    group: &str,
    interval: TimeDelta,
) -> Result<Option<Claimed>, AppError> {
    let now = Utc::now().naive_utc();
    write_transaction(conn, |conn| {
        let row: Option<(i64, i64, NaiveDateTime, String, String, String)> = counts::table
            .find(group)
            .filter(counts::status.ne("muted"))
            .select((
                counts::occurrences,
                counts::mailed,
                counts::last_mail_at,
                counts::latest_report,
                counts::request_ids,
                counts::announce,
            ))
            .first(conn)
            .optional()
            .context("Failed to read an error's count")?;
        let Some((occurrences, mailed, last_mail_at, report, ids, announce)) = row else {
            return Ok(None);
        };
        if occurrences <= mailed || now - last_mail_at < interval {
            return Ok(None);
        }
        let first_mail = !announce.is_empty();
        let mut ids: Vec<String> = ids.split_whitespace().map(str::to_string).collect();
        let (now_mailed, left) = if first_mail {
            (mailed + 1, ids.split_off(ids.len().min(1)))
        } else {
            (occurrences, Vec::new())
        };
        // Only if no other instance moved the row since it was read.
        let taken = diesel::update(
            counts::table
                .find(group)
                .filter(counts::mailed.eq(mailed))
                .filter(counts::last_mail_at.eq(last_mail_at)),
        )
        .set((
            counts::mailed.eq(now_mailed),
            counts::last_mail_at.eq(now),
            counts::request_ids.eq(left.join(" ")),
            counts::announce.eq(""),
        ))
        .execute(conn)
        .context("Failed to claim an error mail")?;
        if taken == 0 {
            return Ok(None);
        }
        let report = serde_json::from_str(&report).map_err(|error| {
            AppError::unexpected(error).context("Failed to read an error report")
        })?;
        Ok(Some(Claimed {
            group: group.to_string(),
            regression: announce == "regression",
            report,
            occurrences: u64::try_from(now_mailed - mailed).unwrap_or_default(),
            ids,
            repeats: !first_mail,
        }))
    })
}
