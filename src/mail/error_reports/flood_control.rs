//! The error mails' flood control, kept in the database (`error_mail_counts`) so that every
//! instance on one database shares it: a failure seen by any instance is counted once, and only
//! one instance mails about it per ERROR_MAIL_INTERVAL.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::upsert::excluded;

use crate::db::schema::error_mail_counts as counts;
use crate::db::{write_transaction, DbConnection};
use crate::errors::report::ErrorReport;
use crate::errors::{AppError, ResultExt};
use crate::on_each_backend;
use crate::tokens::digest_hex;

/// Occurrences of one error that this instance has not yet counted in the database.
pub(super) struct Held {
    pub(super) count: u64,
    pub(super) latest: ErrorReport,
    /// The request ids of the first few, for the mail that counts them.
    pub(super) ids: Vec<String>,
}

/// A place whose occurrences are due to be mailed, claimed by this instance.
pub(super) struct Claimed {
    pub(super) report: ErrorReport,
    pub(super) occurrences: u64,
    pub(super) ids: Vec<String>,
    /// Whether an earlier mail was about the same error (this one counts its repeats).
    pub(super) repeats: bool,
}

/// How many request ids a row keeps between two mails (about 100 ids).
const IDS_TEXT_LIMIT: i32 = 4000;

/// Adds this instance's held occurrences of `place` to the shared count.
pub(super) fn count(conn: &mut DbConnection, place: &str, held: &Held) -> Result<(), AppError> {
    let report = serde_json::to_string(&held.latest).map_err(AppError::unexpected)?;
    let ids = held.ids.join(" ");
    let occurrences = i64::try_from(held.count).unwrap_or(i64::MAX);
    // A new place starts as never mailed, so its first occurrence is mailed at once.
    let never = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
    let keep_ids = sql::<Text>(&format!(
        "CASE WHEN length(error_mail_counts.request_ids) < {IDS_TEXT_LIMIT} \
         THEN error_mail_counts.request_ids || ' ' || excluded.request_ids \
         ELSE error_mail_counts.request_ids END"
    ));
    on_each_backend!(conn, |conn| diesel::insert_into(counts::table)
        .values((
            counts::place_hash.eq(digest_hex(place)),
            counts::occurrences.eq(occurrences),
            counts::last_mail_at.eq(never),
            counts::latest_report.eq(&report),
            counts::request_ids.eq(&ids),
        ))
        .on_conflict(counts::place_hash)
        .do_update()
        .set((
            counts::occurrences.eq(counts::occurrences + excluded(counts::occurrences)),
            counts::latest_report.eq(excluded(counts::latest_report)),
            counts::request_ids.eq(keep_ids),
        ))
        .execute(conn))
    .context("Failed to count an error for the error mails")?;
    Ok(())
}

/// The places (their hashes) with occurrences no mail has counted yet, whose last mail is older than
/// `interval`, oldest first (at most `limit`).
pub(super) fn due(
    conn: &mut DbConnection,
    interval: TimeDelta,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let cutoff = Utc::now().naive_utc() - interval;
    counts::table
        .filter(counts::occurrences.gt(counts::mailed))
        .filter(counts::last_mail_at.le(cutoff))
        .order(counts::last_mail_at)
        .limit(limit)
        .select(counts::place_hash)
        .load(conn)
        .context("Failed to list the errors due for a mail")
}

/// Takes the right to mail about the place whose hash is `place_hash`: every occurrence not yet
/// mailed, except for the first mail about a place, which counts its first occurrence alone.
/// The repeats that arrived with it wait for the summary: however the sender's batches fall (a
/// busy machine gathers more per batch), the admins hear of a new error once, at once, and of
/// its repeats after ERROR_MAIL_INTERVAL. `None` if another instance took it first, or it is no
/// longer due.
pub(super) fn claim(
    conn: &mut DbConnection,
    place_hash: &str,
    interval: TimeDelta,
) -> Result<Option<Claimed>, AppError> {
    let now = Utc::now().naive_utc();
    write_transaction(conn, |conn| {
        let row: Option<(i64, i64, NaiveDateTime, String, String)> = counts::table
            .find(place_hash)
            .select((
                counts::occurrences,
                counts::mailed,
                counts::last_mail_at,
                counts::latest_report,
                counts::request_ids,
            ))
            .first(conn)
            .optional()
            .context("Failed to read an error's count")?;
        let Some((occurrences, mailed, last_mail_at, report, ids)) = row else {
            return Ok(None);
        };
        if occurrences <= mailed || now - last_mail_at < interval {
            return Ok(None);
        }
        let first_mail = mailed == 0;
        let mut ids: Vec<String> = ids.split_whitespace().map(str::to_string).collect();
        let (now_mailed, left) = if first_mail {
            (1, ids.split_off(ids.len().min(1)))
        } else {
            (occurrences, Vec::new())
        };
        // Only if no other instance moved the row since it was read.
        let taken = diesel::update(
            counts::table
                .find(place_hash)
                .filter(counts::mailed.eq(mailed))
                .filter(counts::last_mail_at.eq(last_mail_at)),
        )
        .set((
            counts::mailed.eq(now_mailed),
            counts::last_mail_at.eq(now),
            counts::request_ids.eq(left.join(" ")),
        ))
        .execute(conn)
        .context("Failed to claim an error mail")?;
        if taken == 0 {
            return Ok(None);
        }
        let report = serde_json::from_str(&report).map_err(AppError::unexpected)?;
        Ok(Some(Claimed {
            report,
            occurrences: u64::try_from(now_mailed - mailed).unwrap_or_default(),
            ids,
            repeats: !first_mail,
        }))
    })
}
