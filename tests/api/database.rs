//! Each test's own database: a temporary SQLite file, or, with
//! `TEST_DATABASE_URL=postgres://…`, a new PostgreSQL database on that server, created for the
//! test and dropped when it ends.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// Numbers the databases of this test process.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A database for one test; dropping it drops a PostgreSQL database.
pub struct TestDatabase {
    /// What DATABASE_URL should say.
    pub url: String,
    /// The server's maintenance URL and the database's name, for dropping it.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A new database: on the server of TEST_DATABASE_URL if set, else a file in `dir`.
    pub fn create(dir: &Path) -> Self {
        let Some(server) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            return TestDatabase {
                url: dir.join("microblog.db").display().to_string(),
                postgres: None,
            };
        };
        let name = format!(
            "microblog_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&server)
            .expect("TEST_DATABASE_URL names a PostgreSQL server that answers");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("the test database is created");
        TestDatabase {
            url: with_database(&server, &name),
            postgres: Some((server, name)),
        }
    }

    /// Whether the tests run on PostgreSQL.
    pub fn on_postgres() -> bool {
        std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            // FORCE ends the connections the app's pool still holds.
            if let Ok(mut admin) = PgConnection::establish(server) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// `postgres://user@host:port/postgres?x=y` with its database name replaced by `name`.
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}
