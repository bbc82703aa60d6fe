//! SQLite's write-ahead log, kept small after a burst of writes.
//!
//! `journal_size_limit` truncates the WAL only when a checkpoint resets it, and that happens on
//! the next write: once the writes stop, nothing checkpoints, and a burst leaves the file as
//! large as the burst made it (3,000 posts from 8 clients left 40.7 MB beside a 0.8 MB
//! database). So a task looks at the file's size every second; once it is over the limit and
//! has stopped growing (the writers are quiet), one `wal_checkpoint(TRUNCATE)` copies it into
//! the database and empties it. While writes go on, the task waits: a checkpoint that must
//! wait for writers would only hold a connection.

use std::path::PathBuf;
use std::time::Duration;

use diesel::sql_types::Integer;
use diesel::{QueryableByName, RunQueryDsl};

use super::{DatabaseUrl, DbConnection, DbPool};
use crate::errors::ResultExt;

/// The size the WAL may keep (SQLite's `journal_size_limit`, set on every connection).
pub const WAL_LIMIT_BYTES: u64 = 4 * 1024 * 1024;
const TICK: Duration = Duration::from_secs(1);
/// After a checkpoint that readers or writers held up, the next try waits this long: each try
/// may wait for the lock as long as `busy_timeout`, holding a pooled connection.
const BUSY_BACKOFF: Duration = Duration::from_secs(30);

/// The row `PRAGMA wal_checkpoint` answers: whether it was held up (1), and the WAL's frames.
#[derive(QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = Integer)]
    busy: i32,
}

/// Starts the task for a SQLite database (nothing for PostgreSQL). It ends with the runtime.
pub fn keep_wal_small(pool: &DbPool, url: &DatabaseUrl) {
    let DatabaseUrl::Sqlite(path) = url else {
        return;
    };
    let wal = PathBuf::from(format!("{path}-wal"));
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        let mut last_size = 0;
        loop {
            tick.tick().await;
            let size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
            let quiet = size == last_size;
            last_size = size;
            if size <= WAL_LIMIT_BYTES || !quiet {
                continue;
            }
            let checkpoint = super::run_unobserved(&pool, |conn| match conn {
                DbConnection::Sqlite(conn) => diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .get_result::<Checkpoint>(conn)
                    .map(|row| row.busy == 0)
                    .context("Failed to checkpoint the write-ahead log"),
                DbConnection::Postgresql(_) => Ok(true),
            })
            .await;
            match checkpoint {
                Ok(true) => {
                    last_size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
                    tracing::info!(
                        wal_bytes_before = size,
                        "Checkpointed the WAL after a burst of writes"
                    );
                }
                Ok(false) => tokio::time::sleep(BUSY_BACKOFF).await,
                Err(error) => {
                    tracing::warn!(error = %error, "Could not checkpoint the WAL; will try again");
                    tokio::time::sleep(BUSY_BACKOFF).await;
                }
            }
        }
    });
}
