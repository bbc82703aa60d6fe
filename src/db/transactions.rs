//! [`write_transaction`]: all of a request's writes, or none of them.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use diesel::Connection;

use super::DbConnection;
use crate::errors::AppError;

type Manager = <DbConnection as Connection>::TransactionManager;

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
    .map_err(AppError::from)?;
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
