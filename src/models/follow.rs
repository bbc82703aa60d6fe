use diesel::prelude::*;
use diesel::SqliteConnection;

use crate::db::schema::followers;
use crate::errors::{AppError, ResultExt};

/// Makes `follower` follow `followed`; following twice is not an error.
#[tracing::instrument(name = "Follow", skip(conn))]
pub fn follow(conn: &mut SqliteConnection, follower: i32, followed: i32) -> Result<(), AppError> {
    diesel::insert_or_ignore_into(followers::table)
        .values((
            followers::follower_id.eq(follower),
            followers::followed_id.eq(followed),
        ))
        .execute(conn)
        .context("Failed to follow a user")?;
    Ok(())
}

/// Makes `follower` stop following `followed`; unfollowing twice is not an error.
#[tracing::instrument(name = "Unfollow", skip(conn))]
pub fn unfollow(conn: &mut SqliteConnection, follower: i32, followed: i32) -> Result<(), AppError> {
    diesel::delete(followers::table.find((follower, followed)))
        .execute(conn)
        .context("Failed to unfollow a user")?;
    Ok(())
}

/// Whether `follower` follows `followed`.
pub fn is_following(
    conn: &mut SqliteConnection,
    follower: i32,
    followed: i32,
) -> Result<bool, AppError> {
    diesel::select(diesel::dsl::exists(
        followers::table.find((follower, followed)),
    ))
    .get_result(conn)
    .context("Failed to check a follow")
}

/// How many users follow `user`.
pub fn follower_count(conn: &mut SqliteConnection, user: i32) -> Result<i64, AppError> {
    followers::table
        .filter(followers::followed_id.eq(user))
        .count()
        .get_result(conn)
        .context("Failed to count followers")
}

/// How many users `user` follows.
pub fn following_count(conn: &mut SqliteConnection, user: i32) -> Result<i64, AppError> {
    followers::table
        .filter(followers::follower_id.eq(user))
        .count()
        .get_result(conn)
        .context("Failed to count followed users")
}
