use crate::db::{DbConnection, StoredTime};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

use super::{lower, page_window, Paginated};
use crate::db::schema::users;
use crate::errors::{AppError, ResultExt};
use crate::on_each_backend;
use crate::tokens::digest_hex;

/// A registered user.
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub about_me: String,
    #[diesel(deserialize_as = StoredTime)]
    pub last_seen: NaiveDateTime,
    /// `user` or `admin` (granted with `microblog admin <username>`).
    pub role: String,
    /// The uploaded avatar's version, if there is one (`models::avatar`).
    pub avatar_version: Option<String>,
}

// Written by hand so that the password hash can never reach a log line through `{:?}`.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The fields of a user about to be registered.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
}

/// How stale `last_seen` may get before a request writes it again: writing it on every request
/// cost 14–21% of the throughput.
const LAST_SEEN_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

impl User {
    /// A short digest of the password hash: tokens that carry it (reset links) stop working
    /// when the password changes.
    pub fn password_fingerprint(&self) -> String {
        digest_hex(&self.password_hash)[..16].to_string()
    }

    #[tracing::instrument(name = "Find user by id", skip(conn))]
    pub fn find(conn: &mut DbConnection, id: i32) -> Result<Option<User>, AppError> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
            .context("Failed to load a user by id")
    }

    /// The user with this name, compared regardless of case.
    #[tracing::instrument(name = "Find user by username", skip(conn))]
    pub fn find_by_username(
        conn: &mut DbConnection,
        username: &str,
    ) -> Result<Option<User>, AppError> {
        users::table
            .filter(lower(users::username).eq(lower(username)))
            .select(User::as_select())
            .first(conn)
            .optional()
            .context("Failed to load a user by username")
    }

    /// The user with this email address, compared regardless of case.
    #[tracing::instrument(name = "Find user by email", skip_all)]
    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<User>, AppError> {
        users::table
            .filter(lower(users::email).eq(lower(email)))
            .select(User::as_select())
            .first(conn)
            .optional()
            .context("Failed to load a user by email")
    }

    /// Whether another user than `except` already has this username (regardless of case).
    pub fn username_taken(
        conn: &mut DbConnection,
        username: &str,
        except: Option<i32>,
    ) -> Result<bool, AppError> {
        let query = users::table
            .filter(lower(users::username).eq(lower(username)))
            .filter(users::id.ne(except.unwrap_or(0)));
        diesel::select(diesel::dsl::exists(query))
            .get_result(conn)
            .context("Failed to check whether a username is taken")
    }

    /// Whether another user than `except` already has this email address (regardless of case).
    pub fn email_taken(
        conn: &mut DbConnection,
        email: &str,
        except: Option<i32>,
    ) -> Result<bool, AppError> {
        let query = users::table
            .filter(lower(users::email).eq(lower(email)))
            .filter(users::id.ne(except.unwrap_or(0)));
        diesel::select(diesel::dsl::exists(query))
            .get_result(conn)
            .context("Failed to check whether an email address is taken")
    }

    /// Inserts a new user. A taken username or email arrives as [`AppError::Taken`].
    #[tracing::instrument(name = "Insert user", skip(conn, new_user), fields(username = new_user.username))]
    pub fn insert(conn: &mut DbConnection, new_user: &NewUser) -> Result<User, AppError> {
        // RETURNING a whole row is beyond the common SQL of both databases: one statement each.
        let insert = diesel::insert_into(users::table).values(new_user);
        on_each_backend!(conn, |conn| insert
            .returning(User::as_returning())
            .get_result(conn))
        .context("Failed to insert a new user")
    }

    /// Changes the username and about-me text. A taken username arrives as [`AppError::Taken`].
    #[tracing::instrument(name = "Update profile", skip(conn, about_me))]
    pub fn update_profile(
        conn: &mut DbConnection,
        id: i32,
        username: &str,
        about_me: &str,
    ) -> Result<(), AppError> {
        diesel::update(users::table.find(id))
            .set((users::username.eq(username), users::about_me.eq(about_me)))
            .execute(conn)
            .context("Failed to update a profile")?;
        Ok(())
    }

    /// Replaces the password hash, if it is still `old_hash`; whether it was. Two uses of one
    /// reset link at once: only the first changes the password.
    #[tracing::instrument(name = "Set password", skip(conn, old_hash, password_hash))]
    pub fn replace_password(
        conn: &mut DbConnection,
        id: i32,
        old_hash: &str,
        password_hash: &str,
    ) -> Result<bool, AppError> {
        let changed = diesel::update(
            users::table
                .find(id)
                .filter(users::password_hash.eq(old_hash)),
        )
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .context("Failed to set a password")?;
        Ok(changed > 0)
    }

    /// One page of every user, by id.
    #[tracing::instrument(name = "List users", skip(conn))]
    pub fn page(
        conn: &mut DbConnection,
        page: i64,
        per_page: i64,
    ) -> Result<Paginated<User>, AppError> {
        let (offset, limit) = page_window(page, per_page);
        let rows = users::table
            .order(users::id)
            .offset(offset)
            .limit(limit)
            .select(User::as_select())
            .load(conn)
            .context("Failed to list users")?;
        Ok(Paginated::from_rows(rows, page, per_page))
    }

    /// Grants `role` to the user named `username`; whether there was one.
    pub fn set_role(conn: &mut DbConnection, username: &str, role: &str) -> Result<bool, AppError> {
        let changed =
            diesel::update(users::table.filter(lower(users::username).eq(lower(username))))
                .set(users::role.eq(role))
                .execute(conn)
                .context("Failed to set a role")?;
        Ok(changed > 0)
    }

    /// Records that the user was seen now, unless that was already recorded within the last
    /// minute.
    pub fn touch_last_seen(&mut self, conn: &mut DbConnection) -> Result<(), AppError> {
        let now = Utc::now().naive_utc();
        if now - self.last_seen < LAST_SEEN_RESOLUTION {
            return Ok(());
        }
        diesel::update(users::table.find(self.id))
            .set(users::last_seen.eq(now))
            .execute(conn)
            .context("Failed to record when a user was last seen")?;
        self.last_seen = now;
        Ok(())
    }
}
