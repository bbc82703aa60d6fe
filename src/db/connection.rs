//! One connection type for both databases: diesel's `MultiConnection` picks SQLite or PostgreSQL
//! at run time from DATABASE_URL, so switching needs no recompiling. Queries are written once
//! against it; the few statements its common SQL cannot express (`ON CONFLICT`) use
//! [`on_each_backend!`](crate::on_each_backend).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use super::DatabaseUrl;

/// A connection to SQLite or to PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same statement on whichever backend `$conn` holds, for the statements the common
/// SQL of [`DbConnection`] cannot express, and for the queries every page asks: through
/// `MultiConnection` a query's SQL is written out again on each call even when its prepared
/// statement is cached, which was 3% of the home page's instructions for its posts alone.
#[macro_export]
macro_rules! on_each_backend {
    ($conn:expr, |$inner:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($inner) => $body,
            $crate::db::DbConnection::Sqlite($inner) => $body,
        }
    };
}

/// Opens connections for the pool. Written by hand rather than r2d2's `ConnectionManager`
/// because that one tries each backend in turn: with PostgreSQL down, it would go on to open a
/// SQLite file named after the PostgreSQL URL.
#[derive(Debug)]
pub struct Connector {
    url: DatabaseUrl,
    /// PostgreSQL's statement_timeout: a query stuck behind a lock ends instead of holding its
    /// connection (and a blocking thread) for good.
    statement_timeout: Duration,
    /// Connections lost so far, shared by every connection of the pool (see [`Pooled`]).
    losses: Arc<AtomicU64>,
}

impl Connector {
    pub fn new(url: DatabaseUrl, statement_timeout: Duration) -> Self {
        Connector {
            url,
            statement_timeout,
            losses: Arc::default(),
        }
    }

    /// A new connection, with the settings every pooled connection gets.
    pub fn establish(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // busy_timeout makes a writer wait for the lock instead of failing with
                // "database is locked"; synchronous=NORMAL is safe with WAL and avoids an fsync
                // per commit; journal_size_limit truncates the WAL back to 4 MiB after each
                // checkpoint (under a login flood it had grown to 20.8 MB beside a 0.74 MB
                // database).
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 4194304;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(_) => {
                let mut conn = PgConnection::establish(&self.url.postgres_with_connect_timeout())?;
                // lock_timeout is SQLite's busy_timeout: a write waits that long for a lock,
                // then fails as "busy" (a 503) instead of queueing without end.
                conn.batch_execute(&format!(
                    "SET statement_timeout = {}; SET lock_timeout = 5000",
                    self.statement_timeout.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }
}

/// A connection answered within this long is not asked again at checkout (HikariCP's
/// `aliveBypassWindowMs`, with its default). The question was a round trip of its own on every
/// page, a third of the home page's statements on PostgreSQL.
const ANSWERED_RECENTLY: Duration = Duration::from_millis(500);

/// A pooled connection, and when a query on it last succeeded.
pub struct Pooled {
    conn: DbConnection,
    /// When it last answered, and how many connections the pool had lost by then.
    answered: Option<(Instant, u64)>,
    losses: Arc<AtomicU64>,
}

/// How the work on a connection ended ([`super::run`] records it).
pub enum Outcome {
    Answered,
    /// An error of any other kind: this connection is asked at its next checkout.
    Failed,
    /// The connection was lost: every connection of the pool is asked at its next checkout,
    /// since a server that closed one (a restart) has closed them all. So a restart fails one
    /// request per process, not one per pooled connection.
    Lost,
}

impl Pooled {
    pub fn record(&mut self, outcome: Outcome) {
        let losses = match outcome {
            Outcome::Lost => self.losses.fetch_add(1, Ordering::Relaxed) + 1,
            _ => self.losses.load(Ordering::Relaxed),
        };
        self.answered = matches!(outcome, Outcome::Answered).then(|| (Instant::now(), losses));
    }

    /// Answered lately, and no connection was lost since.
    fn answered_recently(&self) -> bool {
        self.answered.is_some_and(|(at, losses)| {
            at.elapsed() < ANSWERED_RECENTLY && losses == self.losses.load(Ordering::Relaxed)
        })
    }
}

impl Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl ManageConnection for Connector {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = self.establish().map_err(r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            answered: None,
            losses: self.losses.clone(),
        })
    }

    /// Run on every checkout: a connection that PostgreSQL closed (a restart, an outage) is
    /// noticed here and replaced, instead of failing the request that gets it, unless it
    /// answered a query within [`ANSWERED_RECENTLY`] and the pool lost no connection since. A
    /// SQLite connection lives in this process and nothing closes it under us, so it is not
    /// asked.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        let recently = pooled.answered_recently();
        match &mut pooled.conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgresql(_) if recently => Ok(()),
            conn => conn.ping().map_err(r2d2::Error::QueryError),
        }
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.conn.is_broken()
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` sets them; without it the app still runs, only slower, so nothing
    /// else would notice them gone.
    #[test]
    fn the_bundled_sqlite_is_built_with_the_options_the_speed_chapter_names() {
        let mut conn = SqliteConnection::establish(":memory:").expect("an in-memory database");
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .expect("SQLite's compile options")
            .into_iter()
            .map(|option| option.compile_options)
            .collect();

        for wanted in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0", "ENABLE_QPSG"] {
            assert!(
                options.iter().any(|o| o == wanted),
                "{wanted} in {options:?}"
            );
        }
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "ENABLE_MEMORY_MANAGEMENT in {options:?}"
        );
    }
}
