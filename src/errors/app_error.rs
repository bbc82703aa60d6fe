//! The one application error type and its HTTP status.
//!
//! `Display` is what a user may read. The cause chain, printed by `Debug` as "Caused by:" lines,
//! only ever reaches the logs and the error mails. Library errors become an `AppError` in
//! `conversions.rs`; turning an error into a page happens in `pages.rs`, which can see the
//! request (to choose HTML or JSON and to show the request id).

use actix_web::http::{header, StatusCode};

use super::field_errors::FormErrors;
use actix_web::{HttpResponse, ResponseError};

/// Everything a handler can fail with.
#[derive(thiserror::Error)]
pub enum AppError {
    #[error("The page you asked for does not exist.")]
    NotFound,
    /// Something the request named does not exist; the message says what (it is shown on the
    /// 404 page, so it must be fit for a user).
    #[error("{0}")]
    Missing(String),
    /// A file the request needed is not on disk: a 404 for the user, a WARN for the developer
    /// (it may be a deployment mistake), with the file's path in the log only.
    #[error("The file you asked for does not exist.")]
    MissingFile { file: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// No valid credentials: an access token that is missing, invalid or expired, or a wrong
    /// username or password for a token. Answered 401 with the matching `WWW-Authenticate`.
    #[error("{}", .0.message())]
    Unauthorized(Challenge),
    /// A valid token whose role does not allow this (RFC 6750's `insufficient_scope`).
    #[error("Your role does not allow this.")]
    InsufficientScope,
    /// Data that breaks the rules; each message belongs to a field (`errors` in the problem).
    #[error("The data is not valid.")]
    Invalid(FormErrors),
    /// A body of a type the route does not take; the message says which it takes.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The form's CSRF token was missing or did not match this session's.
    #[error("The form has expired or did not come from this site. Go back, reload the page and try again.")]
    CsrfRejected,
    /// The page needs a logged-in user; answered with a redirect to the login page.
    #[error("Please log in to access this page.")]
    LoginRequired { next: String },
    #[error("The request is too large.")]
    PayloadTooLarge,
    /// An upload sent without a Content-Length (chunked), which could not be bounded.
    #[error("Send the file with its length (a Content-Length header).")]
    LengthRequired,
    /// The request's body did not arrive in time; the connection is closed after the answer.
    #[error("The request took too long to arrive.")]
    RequestTimeout,
    /// A unique index refused the write: the user can fix this by choosing another value.
    #[error("That {0} is already taken.")]
    Taken(UniqueField),
    /// A rate limit refused the request; `retry_after` says in how many seconds to try again.
    #[error("Too many requests. Please slow down and try again in a moment.")]
    TooManyRequests { retry_after: u64 },
    /// Too much of one costly kind of work at once (password hashing): try again in a moment.
    /// The text is for the log; the user reads the variant's message.
    #[error("The service is busy. Please try again in a moment.")]
    Overloaded(&'static str),
    /// The database (or another dependency) cannot answer right now; trying again may work.
    #[error("The service is busy or temporarily unavailable. Please try again in a moment.")]
    Unavailable(#[source] anyhow::Error),
    /// The database cannot be reached: refused, lost, or out of connections. `db::run` marks
    /// the first failure of an outage, which alone is logged at ERROR and mailed.
    #[error("The service is temporarily unavailable. Please try again in a moment.")]
    DatabaseDown {
        starts_outage: bool,
        #[source]
        cause: anyhow::Error,
    },
    /// Two transactions raced (a serialization failure or a deadlock on PostgreSQL):
    /// `db::write_transaction` tries once more, then answers 503.
    #[error("The service is busy. Please try again in a moment.")]
    WriteConflict(#[source] anyhow::Error),
    /// A bug or an unexpected failure: the details go to the log, never to the user. The
    /// second field is where it entered our code: the `?`, `.context(…)` or
    /// `AppError::unexpected` that made it (the error inbox groups by it).
    #[error("An unexpected error has occurred.")]
    Unexpected(#[source] anyhow::Error, Origin),
}

/// The place in our code where an unexpected error was first made an [`AppError`], filled in
/// by `#[track_caller]`: a panic's location, for errors that do not panic.
pub type Origin = &'static std::panic::Location<'static>;

/// Why a token was refused. The client is told only "expired" or "invalid".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// No token at all.
    Missing,
    /// Malformed, badly signed, the wrong algorithm, or revoked.
    Invalid,
    Expired,
}

/// How a client should authenticate, said in `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// A bearer access token, and what was wrong with the one sent.
    Bearer(TokenProblem),
    /// HTTP Basic, for getting a token with a username and password.
    Basic,
}

impl Challenge {
    /// What the client is told: "expired" or "invalid", never more.
    pub fn message(&self) -> &'static str {
        match self {
            Challenge::Bearer(TokenProblem::Missing) => "An access token is required.",
            Challenge::Bearer(TokenProblem::Invalid) => "The access token is invalid.",
            Challenge::Bearer(TokenProblem::Expired) => "The access token expired.",
            Challenge::Basic => "Invalid username or password.",
        }
    }

    /// The `WWW-Authenticate` header (RFC 6750 for bearer tokens).
    pub fn header(&self) -> String {
        match self {
            Challenge::Bearer(TokenProblem::Missing) => r#"Bearer realm="microblog""#.to_string(),
            Challenge::Bearer(_) => format!(
                r#"Bearer realm="microblog", error="invalid_token", error_description="{}""#,
                self.message()
            ),
            Challenge::Basic => r#"Basic realm="microblog", charset="UTF-8""#.to_string(),
        }
    }
}

/// Which unique value was already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
    Other,
}

impl std::fmt::Display for UniqueField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UniqueField::Username => "username",
            UniqueField::Email => "email address",
            UniqueField::Other => "value",
        })
    }
}

impl AppError {
    /// Wraps any error as an unexpected one (a 500), made here.
    #[track_caller]
    pub fn unexpected(error: impl Into<anyhow::Error>) -> Self {
        AppError::Unexpected(error.into(), std::panic::Location::caller())
    }

    /// Adds what was being done to the cause chain of a 500 or 503; other errors are already
    /// fully described by their variant. A 500 keeps the place where it was made.
    pub fn context<C>(self, doing: C) -> Self
    where
        C: std::fmt::Display + std::fmt::Debug + Send + Sync + 'static,
    {
        match self {
            AppError::Unexpected(e, origin) => AppError::Unexpected(e.context(doing), origin),
            AppError::Unavailable(e) => AppError::Unavailable(e.context(doing)),
            AppError::WriteConflict(e) => AppError::WriteConflict(e.context(doing)),
            AppError::DatabaseDown {
                starts_outage,
                cause,
            } => AppError::DatabaseDown {
                starts_outage,
                cause: cause.context(doing),
            },
            other => other,
        }
    }

    /// Whether this error is a failure of ours (logged at ERROR and mailed) rather than a
    /// problem with the request.
    pub fn is_server_error(&self) -> bool {
        self.status_code().is_server_error()
    }
}

/// Any error written as its "Caused by:" chain, for a log line: `error.chain = %Chain(&error)`.
/// Never `{:?}` of an `anyhow::Error`, which adds the whole backtrace when one was captured.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        error_chain_fmt(self.0, f)
    }
}

/// `.context("Failed to …")` for any result whose error converts into an [`AppError`].
pub trait ResultExt<T> {
    fn context(self, doing: &'static str) -> Result<T, AppError>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    AppError: From<E>,
{
    // `#[track_caller]` here and on the `From` impls (not a closure, not `Into`, which would
    // not pass the caller on) makes a 500's origin the line that called `.context`.
    #[track_caller]
    fn context(self, doing: &'static str) -> Result<T, AppError> {
        match self {
            Ok(value) => Ok(value),
            Err(error) => Err(AppError::from(error).context(doing)),
        }
    }
}

impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        error_chain_fmt(self, f)
    }
}

/// Writes an error and each of its sources as "Caused by:" lines.
pub fn error_chain_fmt(
    error: &dyn std::error::Error,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    write!(f, "{error}")?;
    let mut source = error.source();
    while let Some(cause) = source {
        write!(f, "\n\nCaused by:\n    {cause}")?;
        source = cause.source();
    }
    Ok(())
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound | AppError::Missing(_) | AppError::MissingFile { .. } => {
                StatusCode::NOT_FOUND
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden | AppError::CsrfRejected | AppError::InsufficientScope => {
                StatusCode::FORBIDDEN
            }
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::LengthRequired => StatusCode::LENGTH_REQUIRED,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Taken(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_)
            | AppError::Overloaded(_)
            | AppError::DatabaseDown { .. }
            | AppError::WriteConflict(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(..) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A bare response: `pages.rs` replaces its body with our page or problem document,
    /// because only there is the request (Accept header, request id, user) known.
    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::LoginRequired { next } => {
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                HttpResponse::SeeOther()
                    .insert_header(("Location", format!("/auth/login?{query}")))
                    .finish()
            }
            // How long a client should wait before trying again, in seconds.
            AppError::Overloaded(_) | AppError::WriteConflict(_) | AppError::Unavailable(_) => {
                HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, "1"))
                    .finish()
            }
            // Long enough for a restarted database to come back, short enough to notice.
            AppError::DatabaseDown { .. } => HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .finish(),
            AppError::Unauthorized(challenge) => HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, challenge.header()))
                .finish(),
            AppError::InsufficientScope => HttpResponse::Forbidden()
                .insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="microblog", error="insufficient_scope""#,
                ))
                .finish(),
            AppError::TooManyRequests { retry_after } => HttpResponse::TooManyRequests()
                .insert_header((
                    actix_web::http::header::RETRY_AFTER,
                    retry_after.to_string(),
                ))
                .finish(),
            _ => HttpResponse::new(self.status_code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_whole_chain_and_display_only_the_user_message() {
        let error = AppError::unexpected(std::io::Error::other("disk on fire"))
            .context("Failed to save the post");
        assert_eq!(error.to_string(), "An unexpected error has occurred.");
        let debug = format!("{error:?}");
        assert!(
            debug.contains("Caused by:\n    Failed to save the post"),
            "{debug}"
        );
        assert!(debug.contains("Caused by:\n    disk on fire"), "{debug}");
    }
}
