//! The SQLite connection pool, the migrations run at start, and [`run`], which moves every query
//! off the async workers.

pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::errors::AppError;

/// A pool of SQLite connections.
pub type DbPool = Pool<ConnectionManager<SqliteConnection>>;

/// The SQL in `migrations/`, compiled into the binary so no diesel CLI is needed.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why the database could not be prepared at start. Each message names DATABASE_URL, because
/// that is the setting the user can change.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseSetupError {
    #[error("DATABASE_URL={path:?}: cannot open the database ({reason})")]
    Open { path: String, reason: String },
    #[error("DATABASE_URL={path:?}: cannot apply the migrations ({reason})")]
    Migrate { path: String, reason: String },
}

/// Settings applied to every pooled connection.
#[derive(Debug)]
struct ConnectionPragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ConnectionPragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout makes a writer wait for the lock instead of failing with "database is
        // locked"; synchronous=NORMAL is safe with WAL and avoids an fsync per commit;
        // journal_size_limit truncates the WAL back to 4 MiB after each checkpoint (under a
        // login flood it had grown to 20.8 MB beside a 0.74 MB database).
        conn.batch_execute(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
             PRAGMA journal_size_limit = 4194304;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens (creating if needed) the database at `path`, switches it to WAL, applies pending
/// migrations and returns a pool of connections to it.
pub fn connect(path: &str, max_connections: u32) -> Result<DbPool, DatabaseSetupError> {
    let open_error = |reason: String| DatabaseSetupError::Open {
        path: path.to_string(),
        reason,
    };
    let mut conn = SqliteConnection::establish(path).map_err(|e| open_error(e.to_string()))?;
    // WAL lets readers go on while one request writes; the mode is stored in the file itself.
    conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
        .map_err(|e| open_error(e.to_string()))?;
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| DatabaseSetupError::Migrate {
            path: path.to_string(),
            reason: e.to_string(),
        })?;

    Pool::builder()
        .max_size(max_connections)
        .connection_timeout(Duration::from_secs(5))
        .connection_customizer(Box::new(ConnectionPragmas))
        .build(ConnectionManager::new(path))
        .map_err(|e| open_error(e.to_string()))
}

/// Runs `query` with a pooled connection on the blocking thread pool, inside the caller's
/// tracing span. Diesel is synchronous: calling it on an async worker would stall every other
/// request that worker serves.
pub async fn run<T, F>(pool: &DbPool, query: F) -> Result<T, AppError>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        crate::errors::panics::catching(|| {
            let mut conn = pool.get().map_err(AppError::from)?;
            query(&mut conn)
        })
    })
    .await
    .map_err(|e| {
        AppError::unexpected(anyhow::Error::new(e).context("A database task was cancelled"))
    })?
}
