//! API logins (`api_sessions`): one row per token pair. The refresh token is stored only as its
//! hash and replaced on every use; deleting the row revokes it and its access tokens.

use crate::db::DbConnection;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::User;
use crate::db::schema::{api_sessions, users};
use crate::errors::{AppError, ResultExt};

/// How long a refresh token works when it is not used.
pub const REFRESH_LIFETIME: TimeDelta = TimeDelta::days(30);

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// At most this many API logins per user are kept; the oldest go first.
const MAX_API_SESSIONS_PER_USER: i64 = 20;

/// Records a new API login `sid` of `user_id` with its first refresh token, and forgets that
/// user's expired and oldest logins.
#[tracing::instrument(name = "Create API session", skip(conn, refresh_token))]
pub fn create_api_session(
    conn: &mut DbConnection,
    sid: &str,
    user_id: i32,
    refresh_token: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            api_sessions::table
                .filter(api_sessions::user_id.eq(user_id))
                .filter(api_sessions::refresh_expires_at.le(now)),
        )
        .execute(conn)?;
        diesel::insert_into(api_sessions::table)
            .values((
                api_sessions::id.eq(sid),
                api_sessions::user_id.eq(user_id),
                api_sessions::refresh_hash.eq(hash(refresh_token)),
                api_sessions::created_at.eq(now),
                api_sessions::refresh_expires_at.eq(now + REFRESH_LIFETIME),
            ))
            .execute(conn)?;
        let keep: Vec<String> = api_sessions::table
            .filter(api_sessions::user_id.eq(user_id))
            .order(api_sessions::created_at.desc())
            .limit(MAX_API_SESSIONS_PER_USER)
            .select(api_sessions::id)
            .load(conn)?;
        diesel::delete(
            api_sessions::table
                .filter(api_sessions::user_id.eq(user_id))
                .filter(api_sessions::id.ne_all(keep)),
        )
        .execute(conn)?;
        Ok::<_, AppError>(())
    })
    .context("Failed to record an API login")
}

/// The user of API login `sid`, if it has not been revoked.
#[tracing::instrument(name = "Find API session user", skip(conn))]
pub fn api_session_user(conn: &mut DbConnection, sid: &str) -> Result<Option<User>, AppError> {
    api_sessions::table
        .inner_join(users::table)
        .filter(api_sessions::id.eq(sid))
        .select(User::as_select())
        .first(conn)
        .optional()
        .context("Failed to load an API login")
}

/// Replaces a valid, unexpired refresh token with `new_token`; the login's id and user, or
/// `None` when the old token is unknown, used already, revoked or expired.
///
/// The replacement is one conditional UPDATE: of two requests racing with one token, the second
/// finds the row no longer matching (PostgreSQL re-checks the condition once the first commits;
/// SQLite writes one at a time), so a token is never exchanged twice.
#[tracing::instrument(name = "Rotate refresh token", skip_all)]
pub fn rotate_refresh_token(
    conn: &mut DbConnection,
    old_token: &str,
    new_token: &str,
    now: NaiveDateTime,
) -> Result<Option<(String, User)>, AppError> {
    let new_hash = hash(new_token);
    crate::db::write_transaction(conn, |conn| {
        let rotated = diesel::update(
            api_sessions::table
                .filter(api_sessions::refresh_hash.eq(hash(old_token)))
                .filter(api_sessions::refresh_expires_at.gt(now)),
        )
        .set((
            api_sessions::refresh_hash.eq(&new_hash),
            api_sessions::refresh_expires_at.eq(now + REFRESH_LIFETIME),
        ))
        .execute(conn)?;
        if rotated == 0 {
            return Ok(None);
        }
        let found = api_sessions::table
            .inner_join(users::table)
            .filter(api_sessions::refresh_hash.eq(&new_hash))
            .select((api_sessions::id, User::as_select()))
            .first(conn)
            .optional()?;
        Ok::<_, AppError>(found)
    })
    .context("Failed to rotate a refresh token")
}

/// Revokes the login whose refresh token is `token`, if it is `user_id`'s; whether one was.
#[tracing::instrument(name = "Revoke API session", skip(conn, token))]
pub fn revoke_api_session(
    conn: &mut DbConnection,
    user_id: i32,
    token: &str,
) -> Result<bool, AppError> {
    let deleted = diesel::delete(
        api_sessions::table
            .filter(api_sessions::user_id.eq(user_id))
            .filter(api_sessions::refresh_hash.eq(hash(token))),
    )
    .execute(conn)
    .context("Failed to revoke an API login")?;
    Ok(deleted > 0)
}

/// Revokes every API login of `user_id`.
#[tracing::instrument(name = "Revoke all API sessions", skip(conn))]
pub fn revoke_all_api_sessions(conn: &mut DbConnection, user_id: i32) -> Result<(), AppError> {
    diesel::delete(api_sessions::table.filter(api_sessions::user_id.eq(user_id)))
        .execute(conn)
        .context("Failed to revoke a user's API logins")?;
    Ok(())
}
