//! The one place where library errors get their meaning for this application: diesel's and the
//! connection pool's errors become [`AppError`]s here, and nowhere else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::AppError;
use super::UniqueField;

/// The one place where diesel's errors get their meaning for this application, on both
/// databases.
impl From<DieselError> for AppError {
    // A 500's origin is the `?` or `.context` that converted it (see `AppError::Unexpected`).
    #[track_caller]
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => AppError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // PostgreSQL names the index that refused the row; SQLite names it in the
                // message: "UNIQUE constraint failed: index 'users_username_key'".
                let index = info.constraint_name().unwrap_or(info.message());
                AppError::Taken(if index.contains("users_username_key") {
                    UniqueField::Username
                } else if index.contains("users_email_key") {
                    UniqueField::Email
                } else {
                    UniqueField::Other
                })
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::WriteConflict(anyhow::Error::new(error))
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                database_down(error)
            }
            DieselError::DatabaseError(_, info) => {
                let message = info.message();
                if ENCODING.iter().any(|text| message.contains(text)) {
                    AppError::BadRequest(
                        "The request holds characters that cannot be stored.".to_string(),
                    )
                } else if message.contains("deadlock detected") {
                    AppError::WriteConflict(anyhow::Error::new(error))
                } else if CONNECTION_LOST.iter().any(|text| message.contains(text)) {
                    database_down(error)
                } else if BUSY.iter().any(|text| message.contains(text)) {
                    AppError::Unavailable(anyhow::Error::new(error))
                } else {
                    AppError::unexpected(error)
                }
            }
            _ => AppError::unexpected(error),
        }
    }
}

/// What libpq says when the server went away in the middle of a request. diesel reports
/// these as `Unknown` (and some as `ClosedConnection`), so the text is all there is.
const CONNECTION_LOST: [&str; 4] = [
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "could not receive data from server",
];

/// PostgreSQL's encoding errors (SQLSTATE 22021 and kin): text it cannot store, such as a NUL
/// byte. The client sent it, so it is a 400, never a 500 (`web/control_characters.rs` refuses
/// the usual ways in first).
const ENCODING: [&str; 3] = [
    "invalid byte sequence for encoding",
    "character with byte sequence",
    "null character not permitted",
];

/// A write that waited its time for a lock: SQLite's busy_timeout, PostgreSQL's lock_timeout
/// and statement_timeout.
const BUSY: [&str; 4] = [
    "database is locked",
    "database is busy",
    "canceling statement due to lock timeout",
    "canceling statement due to statement timeout",
];

fn database_down(error: DieselError) -> AppError {
    AppError::DatabaseDown {
        starts_outage: false,
        cause: anyhow::Error::new(error),
    }
}

/// No connection within the pool's timeout: the database refused or lost every attempt, has no
/// connection left, or is too busy to hand one back in time.
impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        AppError::DatabaseDown {
            starts_outage: false,
            cause: anyhow::Error::new(error).context("No database connection available"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::ResponseError;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> AppError {
        AppError::from(DieselError::DatabaseError(
            kind,
            Box::new(message.to_string()),
        ))
    }

    #[test]
    fn a_unique_violation_names_its_field_by_the_index() {
        let sqlite = database_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: index 'users_email_key'",
        );
        assert!(matches!(sqlite, AppError::Taken(UniqueField::Email)));
    }

    #[test]
    fn conflicts_lost_connections_and_lock_waits_are_503s_and_the_rest_500s() {
        use DatabaseErrorKind::*;
        let cases = [
            (SerializationFailure, "could not serialize access", 503),
            (Unknown, "deadlock detected", 503),
            (ClosedConnection, "connection closed", 503),
            (Unknown, "server closed the connection unexpectedly", 503),
            (Unknown, "canceling statement due to lock timeout", 503),
            (Unknown, "database is locked", 503),
            (Unknown, "syntax error at or near", 500),
            (
                Unknown,
                "invalid byte sequence for encoding \"UTF8\": 0x00",
                400,
            ),
        ];
        for (kind, message, status) in cases {
            assert_eq!(
                database_error(kind, message).status_code().as_u16(),
                status,
                "{message}"
            );
        }
        assert!(matches!(
            database_error(Unknown, "deadlock detected"),
            AppError::WriteConflict(_)
        ));
    }

    #[test]
    fn not_found_from_diesel_is_a_404() {
        assert_eq!(
            AppError::from(DieselError::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
    }
}
