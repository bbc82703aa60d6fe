//! [`write_transaction`]: all of a request's writes, or none of them.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use diesel::Connection;
use std::sync::atomic::{AtomicU64, Ordering};

use super::DbConnection;
use crate::errors::{AppError, ResultExt};

type Manager = <DbConnection as Connection>::TransactionManager;

/// Write conflicts tried once more, in this process (a counter for the metrics: the
/// transaction has no application state to count in).
static RETRIED: AtomicU64 = AtomicU64::new(0);

/// Write conflicts tried once more since the process started.
pub fn write_conflicts_retried() -> u64 {
    RETRIED.load(Ordering::Relaxed)
}

/// Runs `work` in one transaction: committed if it returns `Ok`, rolled back if it returns an
/// error (or if the commit fails).
///
/// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`): a plain `BEGIN`
/// that reads first and writes later cannot wait for the lock and fails with "database is
/// locked" under concurrent writes. On PostgreSQL a serialization failure or a deadlock means
/// another transaction won a race that a second try usually wins: `work` runs once more, and a
/// second conflict is a 503.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match attempt(conn, &mut work) {
        Err(AppError::WriteConflict(first)) => {
            RETRIED.fetch_add(1, Ordering::Relaxed);
            tracing::info!(error = %first, "A write conflicted with another; trying once more");
            attempt(conn, &mut work)
        }
        done => done,
    }
}

fn attempt<T>(
    conn: &mut DbConnection,
    work: &mut impl FnMut(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
        }
        DbConnection::Postgresql(_) => Manager::begin_transaction(conn),
    }
    .context("Failed to begin a transaction")?;
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(AppError::from(rollback).context("Failed to roll back")),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::ResponseError;

    use super::write_transaction;
    use crate::db::{self, DatabaseUrl};
    use crate::errors::AppError;

    fn conflict() -> AppError {
        AppError::WriteConflict(anyhow::anyhow!("could not serialize access"))
    }

    #[test]
    fn a_write_conflict_is_tried_once_more_and_a_second_one_is_a_503() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(dir.path().join("t.db").to_str().unwrap());
        let pool = db::connect(&url, 1, Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();

        let mut attempts = 0;
        let once = write_transaction(&mut conn, |_| {
            attempts += 1;
            if attempts == 1 {
                Err(conflict())
            } else {
                Ok(attempts)
            }
        });
        let mut again = 0;
        let twice: Result<(), AppError> = write_transaction(&mut conn, |_| {
            again += 1;
            Err(conflict())
        });

        assert_eq!(once.unwrap(), 2);
        assert_eq!(again, 2);
        let error = twice.unwrap_err();
        assert_eq!(error.status_code().as_u16(), 503);
        assert!(error.error_response().headers().contains_key("retry-after"));
    }
}
