//! The home timeline's query as SQLite runs it best: the page's post ids from the covering
//! `(user_id, timestamp)` index, author by author, then only those posts read in full.
//!
//! Each `CROSS JOIN` keeps SQLite's join order as written, and with it each subquery in `FROM`
//! runs as a co-routine, handing its rows on one at a time. Written with `IN (subquery)`, as
//! diesel's query builder would, SQLite first copied the authors and then the page's ids into
//! temporary b-trees of their own, two of the three on every home page: [`SqliteTimeline`]
//! keeps only the one that sorts the page.
//!
//! The authors come newest account first (`ORDER BY 1 DESC`, read backwards from the
//! followers index, merged with the user's own id). Once the page holds `limit` posts, an
//! author whose newest post is older than all of them is left after one look; authors whose
//! posts are recent fill the page early. The `LIMIT -1` keeps that `ORDER BY`, which SQLite
//! drops from a subquery whose order it thinks nobody reads.
//!
//! Written as a [`QueryFragment`] with a static query id, so that diesel prepares it once per
//! connection. Its rows come in no particular order: the caller sorts the page.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use super::PostWithAuthorSql;

/// The posts of `user_id` and everyone they follow, `limit` of them after skipping `offset`,
/// newest first, each with its author: the columns of `PostWithAuthor`, in its order.
#[derive(Debug, QueryId)]
pub struct SqliteTimeline {
    user_id: i32,
    offset: i64,
    limit: i64,
}

impl SqliteTimeline {
    pub fn new(user_id: i32, offset: i64, limit: i64) -> Self {
        SqliteTimeline {
            user_id,
            offset,
            limit,
        }
    }
}

impl Query for SqliteTimeline {
    type SqlType = PostWithAuthorSql;
}

impl RunQueryDsl<diesel::SqliteConnection> for SqliteTimeline {}

impl QueryFragment<Sqlite> for SqliteTimeline {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "SELECT posts.id, posts.user_id, posts.body, posts.timestamp, \
             users.username, users.email, users.avatar_version \
             FROM (SELECT candidates.id AS id FROM (SELECT ",
        );
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(" AS id UNION ALL SELECT followed_id FROM followers WHERE follower_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(
            " ORDER BY 1 DESC LIMIT -1) AS timeline_authors \
             CROSS JOIN posts AS candidates ON candidates.user_id = timeline_authors.id \
             ORDER BY candidates.timestamp DESC, candidates.id DESC LIMIT ",
        );
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        out.push_sql(
            ") AS page CROSS JOIN posts ON posts.id = page.id \
             CROSS JOIN users ON users.id = posts.user_id",
        );
        Ok(())
    }
}
