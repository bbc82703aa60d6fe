use crate::db::{DbConnection, StoredTime};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::timeline_postgres::PostgresTimeline;
use super::timeline_sqlite::SqliteTimeline;
use super::{lower, page_window, Paginated};
use crate::db::schema::{posts, users};
use crate::errors::{AppError, ResultExt};

/// A post with its author's name and email (for the avatar), read with one join.
#[derive(Debug, PartialEq, Eq, Queryable)]
pub struct PostWithAuthor {
    pub id: i32,
    pub user_id: i32,
    pub body: String,
    #[diesel(deserialize_as = StoredTime)]
    pub timestamp: NaiveDateTime,
    pub author: String,
    pub author_email: String,
    pub author_avatar: Option<String>,
}

type PostColumns = (
    posts::id,
    posts::user_id,
    posts::body,
    posts::timestamp,
    users::username,
    users::email,
    users::avatar_version,
);
type PostsWithAuthors =
    diesel::dsl::Select<diesel::dsl::InnerJoin<posts::table, users::table>, PostColumns>;

/// The columns of a post and its author, read with one join.
fn with_author() -> PostsWithAuthors {
    posts::table.inner_join(users::table).select((
        posts::id,
        posts::user_id,
        posts::body,
        posts::timestamp,
        users::username,
        users::email,
        users::avatar_version,
    ))
}

fn into_page(rows: Vec<PostWithAuthor>, page: i64, per_page: i64) -> Paginated<PostWithAuthor> {
    Paginated::from_rows(rows, page, per_page)
}

/// The post `id`, with its author.
#[tracing::instrument(name = "Find post", skip(conn))]
pub fn find_post(conn: &mut DbConnection, id: i32) -> Result<Option<PostWithAuthor>, AppError> {
    with_author()
        .filter(posts::id.eq(id))
        .first::<PostWithAuthor>(conn)
        .optional()
        .context("Failed to load a post")
}

/// The author of post `id`, if there is such a post.
pub fn post_author(conn: &mut DbConnection, id: i32) -> Result<Option<i32>, AppError> {
    posts::table
        .find(id)
        .select(posts::user_id)
        .first(conn)
        .optional()
        .context("Failed to load a post's author")
}

/// Deletes post `id`.
#[tracing::instrument(name = "Delete post", skip(conn))]
pub fn delete_post(conn: &mut DbConnection, id: i32) -> Result<(), AppError> {
    diesel::delete(posts::table.find(id))
        .execute(conn)
        .context("Failed to delete a post")?;
    Ok(())
}

/// Publishes a post by `user_id`.
#[tracing::instrument(name = "Create post", skip(conn, body))]
pub fn create_post(conn: &mut DbConnection, user_id: i32, body: &str) -> Result<i32, AppError> {
    diesel::insert_into(posts::table)
        .values((
            posts::body.eq(body),
            posts::timestamp.eq(Utc::now().naive_utc()),
            posts::user_id.eq(user_id),
        ))
        .returning(posts::id)
        .get_result(conn)
        .context("Failed to insert a post")
}

/// Posts by `user_id` and by everyone they follow, newest first. Each backend runs the query
/// it plans best: [`PostgresTimeline`] and [`SqliteTimeline`].
#[tracing::instrument(name = "Timeline posts", skip(conn))]
pub fn timeline_posts(
    conn: &mut DbConnection,
    user_id: i32,
    page: i64,
    per_page: i64,
) -> Result<Paginated<PostWithAuthor>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    // On the backend's own connection, as every page's posts are (see on_each_backend).
    let rows = match conn {
        DbConnection::Postgresql(conn) => {
            PostgresTimeline::new(user_id, offset, limit).load::<PostWithAuthor>(conn)
        }
        DbConnection::Sqlite(conn) => {
            let rows = SqliteTimeline::new(user_id, offset, limit).load::<PostWithAuthor>(conn);
            // The page's few rows put in order here: an `ORDER BY` on them cost SQLite a
            // sorter of its own, a tenth of the query.
            rows.map(|mut rows| {
                rows.sort_unstable_by_key(|post| std::cmp::Reverse((post.timestamp, post.id)));
                rows
            })
        }
    }
    .context("Failed to load the timeline")?;
    Ok(into_page(rows, page, per_page))
}

/// Everyone's posts, newest first.
#[tracing::instrument(name = "Explore posts", skip(conn))]
pub fn explore_posts(
    conn: &mut DbConnection,
    page: i64,
    per_page: i64,
) -> Result<Paginated<PostWithAuthor>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    let query = with_author()
        .order((posts::timestamp.desc(), posts::id.desc()))
        .offset(offset)
        .limit(limit);
    let rows = crate::on_each_backend!(conn, |conn| query.load::<PostWithAuthor>(conn))
        .context("Failed to load the explore page")?;
    Ok(into_page(rows, page, per_page))
}

/// The posts of one user, newest first.
#[tracing::instrument(name = "User posts", skip(conn))]
pub fn user_posts(
    conn: &mut DbConnection,
    user_id: i32,
    page: i64,
    per_page: i64,
) -> Result<Paginated<PostWithAuthor>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    let query = with_author()
        .filter(posts::user_id.eq(user_id))
        .order((posts::timestamp.desc(), posts::id.desc()))
        .offset(offset)
        .limit(limit);
    let rows = crate::on_each_backend!(conn, |conn| query.load::<PostWithAuthor>(conn))
        .context("Failed to load a user's posts")?;
    Ok(into_page(rows, page, per_page))
}

/// Posts whose body contains `query` regardless of case, newest first. Both sides go through
/// `lower()`: SQLite's LIKE ignores ASCII case by itself, PostgreSQL's does not.
#[tracing::instrument(name = "Search posts", skip(conn))]
pub fn search_posts(
    conn: &mut DbConnection,
    query: &str,
    page: i64,
    per_page: i64,
) -> Result<Paginated<PostWithAuthor>, AppError> {
    let (offset, limit) = page_window(page, per_page);
    // `%` and `_` typed by the user are literal characters, not wildcards.
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let rows = with_author()
        .filter(
            lower(posts::body)
                .like(lower(format!("%{escaped}%")))
                .escape('\\'),
        )
        .order((posts::timestamp.desc(), posts::id.desc()))
        .offset(offset)
        .limit(limit)
        .load::<PostWithAuthor>(conn)
        .context("Failed to search posts")?;
    Ok(into_page(rows, page, per_page))
}

/// Up to `limit` of the user's posts after the post `after` (by id, oldest first), as
/// (id, body, timestamp): the export reads them in batches, keyset by id.
pub fn posts_after(
    conn: &mut DbConnection,
    user_id: i32,
    after: i32,
    limit: i64,
) -> Result<Vec<(i32, String, chrono::NaiveDateTime)>, AppError> {
    posts::table
        .filter(posts::user_id.eq(user_id))
        .filter(posts::id.gt(after))
        .order(posts::id)
        .limit(limit)
        .select((posts::id, posts::body, posts::timestamp))
        .load(conn)
        .context("Failed to read a user's posts")
}

/// How many posts the user has written.
pub fn post_count(conn: &mut DbConnection, user_id: i32) -> Result<i64, AppError> {
    posts::table
        .filter(posts::user_id.eq(user_id))
        .count()
        .get_result(conn)
        .context("Failed to count a user's posts")
}
