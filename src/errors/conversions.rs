//! The one place where library errors get their meaning for this application: diesel's and the
//! connection pool's errors become [`AppError`]s here, and nowhere else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::AppError;
use super::UniqueField;

/// The one place where diesel's errors get their meaning for this application.
impl From<DieselError> for AppError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => AppError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // SQLite names the column only in the message: "UNIQUE constraint failed: users.username".
                let message = info.message();
                if message.contains("users.username") {
                    AppError::Taken(UniqueField::Username)
                } else if message.contains("users.email") {
                    AppError::Taken(UniqueField::Email)
                } else {
                    AppError::Taken(UniqueField::Other)
                }
            }
            DieselError::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                AppError::Unavailable(anyhow::Error::new(error))
            }
            _ => AppError::Unexpected(anyhow::Error::new(error)),
        }
    }
}

/// No connection within the pool's timeout: the database is overloaded or unreachable.
impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(anyhow::Error::new(error).context("No database connection available"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::ResponseError;

    #[test]
    fn not_found_from_diesel_is_a_404() {
        assert_eq!(
            AppError::from(DieselError::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
    }
}
