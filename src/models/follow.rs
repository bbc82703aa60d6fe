use crate::db::DbConnection;
use diesel::prelude::*;

use super::{page_window, Paginated, User};
use crate::db::schema::{followers, users};
use crate::errors::{AppError, ResultExt};
use crate::on_each_backend;

/// Makes `follower` follow `followed`; following twice is not an error.
#[tracing::instrument(name = "Follow", skip(conn))]
pub fn follow(conn: &mut DbConnection, follower: i32, followed: i32) -> Result<(), AppError> {
    let row = (
        followers::follower_id.eq(follower),
        followers::followed_id.eq(followed),
    );
    on_each_backend!(conn, |conn| diesel::insert_into(followers::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn))
    .context("Failed to follow a user")?;
    Ok(())
}

/// Makes `follower` stop following `followed`; unfollowing twice is not an error.
#[tracing::instrument(name = "Unfollow", skip(conn))]
pub fn unfollow(conn: &mut DbConnection, follower: i32, followed: i32) -> Result<(), AppError> {
    diesel::delete(followers::table.find((follower, followed)))
        .execute(conn)
        .context("Failed to unfollow a user")?;
    Ok(())
}

/// Whether `follower` follows `followed`.
pub fn is_following(
    conn: &mut DbConnection,
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
pub fn follower_count(conn: &mut DbConnection, user: i32) -> Result<i64, AppError> {
    followers::table
        .filter(followers::followed_id.eq(user))
        .count()
        .get_result(conn)
        .context("Failed to count followers")
}

/// How many users `user` follows.
pub fn following_count(conn: &mut DbConnection, user: i32) -> Result<i64, AppError> {
    followers::table
        .filter(followers::follower_id.eq(user))
        .count()
        .get_result(conn)
        .context("Failed to count followed users")
}

/// One page of the users who follow `user` (`followers`) or whom `user` follows, by id.
#[tracing::instrument(name = "List follows", skip(conn))]
pub fn follow_page(
    conn: &mut DbConnection,
    user: i32,
    followers: bool,
    page: i64,
    per_page: i64,
) -> Result<Paginated<User>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    let ids: Vec<i32> = if followers {
        followers::table
            .filter(followers::followed_id.eq(user))
            .select(followers::follower_id)
            .load(conn)
    } else {
        followers::table
            .filter(followers::follower_id.eq(user))
            .select(followers::followed_id)
            .load(conn)
    }
    .context("Failed to list follows")?;
    let rows = users::table
        .filter(users::id.eq_any(ids))
        .order(users::id)
        .offset(offset)
        .limit(limit)
        .select(User::as_select())
        .load(conn)
        .context("Failed to load followed or following users")?;
    Ok(Paginated::from_rows(rows, page, per_page))
}
