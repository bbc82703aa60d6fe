//! The database: SQLite by default, PostgreSQL when DATABASE_URL says `postgres://`, through one
//! connection type ([`DbConnection`]). The pool, the migrations run at start, [`run`], which moves
//! every query off the async workers, and [`write_transaction`].

mod connection;
mod migrations;
mod outage;
pub mod schema;
mod stored_time;
mod transactions;
mod url;
mod wal;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{Pool, PooledConnection};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::errors::AppError;

pub use connection::{Connector, DbConnection, Outcome, Pooled};
pub use outage::Outage;
pub use stored_time::StoredTime;
pub use transactions::{write_conflicts_retried, write_transaction};
pub use url::DatabaseUrl;
pub use wal::{keep_wal_small, WAL_LIMIT_BYTES};

/// PostgreSQL ends any one statement after this long.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection pool, and what the requests have seen of the database's health.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<Connector>,
    outage: Arc<Outage>,
    observed: PoolMetrics,
}

/// What the pool reports to the metrics: the time requests wait for a connection, and the
/// waits that ended without one.
#[derive(Clone, Default)]
pub struct PoolMetrics {
    pub wait: Option<Histogram>,
    pub timeouts: Counter,
}

/// The pool at one moment.
pub struct PoolState {
    pub in_use: u32,
    pub idle: u32,
    pub size: u32,
    pub database_down: bool,
}

/// Why the database could not be prepared at start. Each message names DATABASE_URL (its
/// password masked), because that is the setting the user can change.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseSetupError {
    #[error("DATABASE_URL={url:?}: cannot open the database ({reason})")]
    Open { url: String, reason: String },
    #[error("DATABASE_URL={url:?}: cannot apply the migrations ({reason})")]
    Migrate { url: String, reason: String },
}

/// Opens the database (creating a SQLite file if needed), applies pending migrations and
/// returns a pool of at most `max_connections` connections, where a request waits at most
/// `timeout` for one.
pub fn connect(
    url: &DatabaseUrl,
    max_connections: u32,
    timeout: Duration,
) -> Result<DbPool, DatabaseSetupError> {
    let open_error = |reason: String| DatabaseSetupError::Open {
        url: url.masked(),
        reason,
    };
    let connector = Connector::new(url.clone(), STATEMENT_TIMEOUT);
    let mut conn = connector
        .establish()
        .map_err(|e| open_error(e.to_string()))?;
    if let DbConnection::Sqlite(sqlite) = &mut conn {
        // WAL lets readers go on while one request writes; the mode is stored in the file.
        sqlite
            .batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| open_error(e.to_string()))?;
    }
    migrations::apply(&mut conn).map_err(|reason| DatabaseSetupError::Migrate {
        url: url.masked(),
        reason,
    })?;

    let pool = Pool::builder()
        .max_size(max_connections)
        .connection_timeout(timeout)
        // Connections are opened when needed: a PostgreSQL that is down at start is reported
        // by the migrations above, and one that goes down later by the requests.
        .min_idle(Some(0))
        .build_unchecked(connector);
    Ok(DbPool {
        pool,
        outage: Arc::new(Outage::default()),
        observed: PoolMetrics::default(),
    })
}

impl DbPool {
    /// The same pool, reporting its waits to `observed`.
    pub fn observed_by(mut self, observed: PoolMetrics) -> Self {
        self.observed = observed;
        self
    }

    /// Connections in use and idle, the most there may be, and whether an outage is on.
    pub fn state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            size: self.pool.max_size(),
            database_down: self.outage.is_down(),
        }
    }

    /// A connection for work outside requests (the seed command, the error mails' flood
    /// control): it does not count towards an outage. It derefs to [`Pooled`] and on to the
    /// [`DbConnection`] that queries take: `let conn: &mut DbConnection = &mut pool.get()?;`.
    pub fn get(&self) -> Result<PooledConnection<Connector>, AppError> {
        self.pool.get().map_err(AppError::from)
    }
}

/// Runs `query` with a pooled connection on the blocking thread pool, inside the caller's
/// tracing span. Diesel is synchronous: calling it on an async worker would stall every other
/// request that worker serves.
///
/// A database that cannot be reached is an [`AppError::DatabaseDown`], marked when it is the
/// first of an outage so that only that one is logged at ERROR and mailed.
pub async fn run<T, F>(pool: &DbPool, query: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let outage = pool.outage.clone();
    let result = run_unobserved(pool, query).await;
    match result {
        Err(AppError::DatabaseDown { cause, .. }) => Err(AppError::DatabaseDown {
            starts_outage: outage.failed(),
            cause,
        }),
        done => {
            outage.answered();
            done
        }
    }
}

/// [`run`] without counting towards an outage: for work outside requests.
pub async fn run_unobserved<T, F>(pool: &DbPool, query: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let observed = pool.observed.clone();
    let pool = pool.pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        crate::errors::panics::catching(|| {
            let waiting = std::time::Instant::now();
            let conn = pool.get();
            if let Some(wait) = &observed.wait {
                wait.observe(waiting.elapsed().as_secs_f64());
            }
            let mut conn = conn.map_err(|error| {
                observed.timeouts.inc();
                AppError::from(error)
            })?;
            let answer = query(&mut conn);
            conn.record(match &answer {
                Ok(_) => Outcome::Answered,
                Err(AppError::DatabaseDown { .. }) => Outcome::Lost,
                Err(_) => Outcome::Failed,
            });
            answer
        })
    })
    .await
    .map_err(|e| {
        AppError::unexpected(anyhow::Error::new(e).context("A database task was cancelled"))
    })?
}
