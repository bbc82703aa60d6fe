use crate::db::DbConnection;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{avatars, users};
use crate::errors::{AppError, ResultExt};

/// An uploaded avatar as stored: the PNG the app wrote, and the version that names it.
#[derive(Queryable)]
pub struct StoredAvatar {
    pub version: String,
    pub image: Vec<u8>,
    pub updated_at: NaiveDateTime,
}

/// Makes `image` the avatar of `user_id`, replacing any other, and points the user's
/// `avatar_version` at it. Call it in a write transaction: the row and the pointer change
/// together or not at all.
#[tracing::instrument(name = "Save avatar", skip(conn, image))]
pub fn save_avatar(
    conn: &mut DbConnection,
    user_id: i32,
    version: &str,
    image: &[u8],
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let row = (
        avatars::user_id.eq(user_id),
        avatars::version.eq(version),
        avatars::image.eq(image),
        avatars::updated_at.eq(now),
    );
    crate::on_each_backend!(conn, |conn| diesel::insert_into(avatars::table)
        .values(row)
        .on_conflict(avatars::user_id)
        .do_update()
        .set((
            avatars::version.eq(version),
            avatars::image.eq(image),
            avatars::updated_at.eq(now),
        ))
        .execute(conn))
    .context("Failed to store an avatar")?;
    diesel::update(users::table.find(user_id))
        .set(users::avatar_version.eq(version))
        .execute(conn)
        .context("Failed to point a user at their avatar")?;
    Ok(())
}

/// Removes the avatar of `user_id` (the identicon shows again); whether there was one.
#[tracing::instrument(name = "Remove avatar", skip(conn))]
pub fn remove_avatar(conn: &mut DbConnection, user_id: i32) -> Result<bool, AppError> {
    let removed = diesel::delete(avatars::table.find(user_id))
        .execute(conn)
        .context("Failed to remove an avatar")?;
    diesel::update(users::table.find(user_id))
        .set(users::avatar_version.eq(None::<String>))
        .execute(conn)
        .context("Failed to point a user back at the identicon")?;
    Ok(removed > 0)
}

/// The avatar of `user_id`, if it has one.
#[tracing::instrument(name = "Find avatar", skip(conn))]
pub fn find_avatar(
    conn: &mut DbConnection,
    user_id: i32,
) -> Result<Option<StoredAvatar>, AppError> {
    avatars::table
        .find(user_id)
        .select((avatars::version, avatars::image, avatars::updated_at))
        .first::<StoredAvatar>(conn)
        .optional()
        .context("Failed to load an avatar")
}

/// The email and the avatar version of `user_id`, if there is such a user: what the avatar
/// route needs when the picture itself is missing.
pub fn avatar_owner(
    conn: &mut DbConnection,
    user_id: i32,
) -> Result<Option<(String, Option<String>)>, AppError> {
    users::table
        .find(user_id)
        .select((users::email, users::avatar_version))
        .first(conn)
        .optional()
        .context("Failed to load an avatar's owner")
}
