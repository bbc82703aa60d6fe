//! "Remember me" held on the server (`remember_tokens`): the cookie carries a random token and
//! the table only its hash, so logout and a new password can end it, as they end a login.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::User;
use crate::db::schema::{remember_tokens, users};
use crate::db::DbConnection;
use crate::errors::{AppError, ResultExt};

/// At most this many remembered browsers per user are kept; the oldest go first.
const MAX_REMEMBERED_PER_USER: i64 = 20;

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Remembers `user_id`'s browser under `token` for `lifetime`, and forgets that user's expired
/// and oldest remembered browsers.
#[tracing::instrument(name = "Remember browser", skip(conn, token))]
pub fn remember_browser(
    conn: &mut DbConnection,
    user_id: i32,
    token: &str,
    now: NaiveDateTime,
    lifetime: TimeDelta,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            remember_tokens::table
                .filter(remember_tokens::user_id.eq(user_id))
                .filter(remember_tokens::expires_at.le(now)),
        )
        .execute(conn)?;
        diesel::insert_into(remember_tokens::table)
            .values((
                remember_tokens::token_hash.eq(hash(token)),
                remember_tokens::user_id.eq(user_id),
                remember_tokens::created_at.eq(now),
                remember_tokens::expires_at.eq(now + lifetime),
            ))
            .execute(conn)?;
        let keep: Vec<String> = remember_tokens::table
            .filter(remember_tokens::user_id.eq(user_id))
            .order(remember_tokens::created_at.desc())
            .limit(MAX_REMEMBERED_PER_USER)
            .select(remember_tokens::token_hash)
            .load(conn)?;
        diesel::delete(
            remember_tokens::table
                .filter(remember_tokens::user_id.eq(user_id))
                .filter(remember_tokens::token_hash.ne_all(keep)),
        )
        .execute(conn)?;
        Ok::<_, AppError>(())
    })
    .context("Failed to remember a browser")
}

/// The user a remember-me `token` names, if it has not ended or expired.
#[tracing::instrument(name = "Find remembered user", skip_all)]
pub fn remembered_user(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<User>, AppError> {
    remember_tokens::table
        .inner_join(users::table)
        .filter(remember_tokens::token_hash.eq(hash(token)))
        .filter(remember_tokens::expires_at.gt(now))
        .select(User::as_select())
        .first(conn)
        .optional()
        .context("Failed to load a remembered login")
}

/// Forgets the browser remembered under `token` (at logout).
#[tracing::instrument(name = "Forget browser", skip_all)]
pub fn forget_browser(conn: &mut DbConnection, token: &str) -> Result<(), AppError> {
    diesel::delete(remember_tokens::table.find(hash(token)))
        .execute(conn)
        .context("Failed to forget a remembered browser")?;
    Ok(())
}
