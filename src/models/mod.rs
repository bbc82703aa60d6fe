//! Rows of the database and the queries on them. Every function takes a connection and is
//! synchronous; handlers call them through [`crate::db::run`]. No display text and no URLs:
//! `web::display` turns rows into what a page shows.

mod api_session;
mod avatar;
mod follow;
mod login_session;
mod post;
mod remember_token;
mod timeline_postgres;
mod timeline_sqlite;
mod user;

pub use api_session::{
    api_session_user, create_api_session, revoke_all_api_sessions, revoke_api_session,
    rotate_refresh_token,
};
pub use avatar::{avatar_owner, find_avatar, remove_avatar, save_avatar, StoredAvatar};
pub use follow::{follow, follow_page, follower_count, following_count, is_following, unfollow};
pub use login_session::{
    create_session, end_all_sessions, end_session, session_user, SessionLimits,
};
pub use post::{
    create_post, delete_post, explore_posts, find_post, post_author, post_count, posts_after,
    search_posts, timeline_posts, user_posts, PostWithAuthor,
};
pub use remember_token::{forget_browser, remember_browser, remembered_user};
pub use user::{NewUser, User};

/// The SQL types of `PostWithAuthor`'s columns, in its order: what each backend's own timeline
/// query returns.
type PostWithAuthorSql = (
    diesel::sql_types::Integer,
    diesel::sql_types::Integer,
    diesel::sql_types::Text,
    diesel::sql_types::Timestamp,
    diesel::sql_types::Text,
    diesel::sql_types::Text,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
);

diesel::define_sql_function! {
    /// SQL's `lower()`: usernames and emails compare regardless of case on both databases (the
    /// unique indexes on `lower(...)` serve these lookups), and so does search.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// One page of a longer list, read with one query whatever the page size.
#[derive(Debug, serde::Serialize)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub has_next: bool,
}

impl<T> Paginated<T> {
    /// Builds a page from rows read with `LIMIT per_page + 1`: the extra row only says whether
    /// a next page exists, so no COUNT query is needed.
    pub fn from_rows(mut rows: Vec<T>, page: i64, per_page: i64) -> Self {
        let has_next = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        Paginated {
            items: rows,
            page,
            has_next,
        }
    }
}

impl<T> Paginated<T> {
    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paginated<U> {
        Paginated {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            has_next: self.has_next,
        }
    }
}

/// The OFFSET and LIMIT that read page `page` (1-based) plus one row to detect a next page.
pub fn page_window(page: i64, per_page: i64) -> (i64, i64) {
    ((page.max(1) - 1).saturating_mul(per_page), per_page + 1)
}

#[cfg(test)]
mod tests;
