//! Logins held on the server (`sessions`), so that each can be ended: the session cookie holds a
//! random token, and the table only its hash.

use crate::db::{DbConnection, StoredTime};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::User;
use crate::db::schema::{remember_tokens, sessions, users};
use crate::errors::{AppError, ResultExt};

/// How long a login lasts.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: TimeDelta,
    /// Ended this long after the login, however busy.
    pub absolute: TimeDelta,
}

/// At most this many logins per user are kept; the oldest go first.
const MAX_SESSIONS_PER_USER: i64 = 20;

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Records a new login of `user_id` under `token`, and forgets that user's ended logins.
#[tracing::instrument(name = "Create session", skip(conn, token))]
pub fn create_session(
    conn: &mut DbConnection,
    user_id: i32,
    token: &str,
    now: NaiveDateTime,
    limits: SessionLimits,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(
                    sessions::last_seen_at
                        .lt(now - limits.idle)
                        .or(sessions::created_at.lt(now - limits.absolute)),
                ),
        )
        .execute(conn)?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(hash(token)),
                sessions::user_id.eq(user_id),
                sessions::created_at.eq(now),
                sessions::last_seen_at.eq(now),
            ))
            .execute(conn)?;
        let keep: Vec<String> = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .order(sessions::created_at.desc())
            .limit(MAX_SESSIONS_PER_USER)
            .select(sessions::token_hash)
            .load(conn)?;
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::token_hash.ne_all(keep)),
        )
        .execute(conn)?;
        Ok::<_, AppError>(())
    })
    .context("Failed to record a login")
}

/// The user logged in under `token`, if that login has not ended; records the activity (at a
/// resolution of a quarter of the idle limit, at most a minute, to spare a write per request).
#[tracing::instrument(name = "Find session user", skip_all)]
pub fn session_user(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
    limits: SessionLimits,
) -> Result<Option<User>, AppError> {
    let token_hash = hash(token);
    // On the backend's own connection: every logged-in request asks this (see on_each_backend).
    // Found by its key alone and held to its limits below: as two bound timestamps, diesel
    // wrote each out as text through chrono's pattern parser on every request.
    let found: Option<(User, StoredTime, StoredTime)> = crate::on_each_backend!(conn, |conn| {
        sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(&token_hash))
            .select((
                User::as_select(),
                sessions::last_seen_at,
                sessions::created_at,
            ))
            .first(conn)
            .optional()
    })
    .context("Failed to load a login")?;
    let Some((user, last_seen_at, created_at)) = found else {
        return Ok(None);
    };
    let (last_seen_at, created_at) = (
        NaiveDateTime::from(last_seen_at),
        NaiveDateTime::from(created_at),
    );
    if now - last_seen_at > limits.idle || now - created_at > limits.absolute {
        return Ok(None);
    }
    let resolution = (limits.idle / 4).min(TimeDelta::minutes(1));
    if now - last_seen_at >= resolution {
        diesel::update(sessions::table.find(&token_hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
            .context("Failed to record a login's activity")?;
    }
    Ok(Some(user))
}

/// Ends the login under `token`.
#[tracing::instrument(name = "End session", skip_all)]
pub fn end_session(conn: &mut DbConnection, token: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.find(hash(token)))
        .execute(conn)
        .context("Failed to end a login")?;
    Ok(())
}

/// Ends every login of `user_id`, and forgets every browser that remembered it (after a new
/// password).
#[tracing::instrument(name = "End all sessions", skip(conn))]
pub fn end_all_sessions(conn: &mut DbConnection, user_id: i32) -> Result<(), AppError> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
        .execute(conn)
        .context("Failed to end a user's logins")?;
    diesel::delete(remember_tokens::table.filter(remember_tokens::user_id.eq(user_id)))
        .execute(conn)
        .context("Failed to forget a user's remembered browsers")?;
    Ok(())
}
