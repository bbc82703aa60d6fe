//! [`ErrorReport`]: everything a developer needs about one failure, secrets removed. Plain data:
//! the layer that holds the request fills in the request's part (`pages.rs`). The development
//! error page shows it and the error mail sends it, in the same plain-text form
//! (`templates/errors/report.txt`).

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::panics::PanicReport;
use super::redact::one_line;
use super::AppError;

/// One failure, as a developer sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReport {
    /// The request id (empty for failures outside a request).
    pub id: String,
    pub time: String,
    /// The error's first line, then each cause.
    pub chain: Vec<String>,
    /// The error's kind and the place in our code that failed: its group's fingerprint (see
    /// [`ErrorReport::from_error`]).
    pub place: String,
    pub backtrace: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub user: String,
    /// The logged-in user's id, to count the users an error affects (and for Sentry).
    #[serde(default)]
    pub user_id: Option<i32>,
    pub client: String,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// The background task that failed, for failures outside requests.
    pub task: String,
}

impl ErrorReport {
    /// The report of `error` alone; the caller adds what it knows of the request or task.
    ///
    /// Its `place`, the fingerprint that groups repeats of one failure, is the error's kind and
    /// the place in our code that failed, never its message ("no user 17" and "no user 18" from
    /// one line are one failure): a panic's location, or the line where an unexpected error
    /// became an [`AppError`]. Others (an actix error, a task that failed without either) are
    /// placed by the caller: the route or the task.
    pub fn from_error(error: Option<&AppError>, fallback: &str) -> Self {
        let mut chain = Vec::new();
        let mut backtrace = String::new();
        let mut place = String::new();
        if let Some(error) = error {
            chain.push(one_line(&error.to_string()));
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                chain.push(one_line(&cause.to_string()));
                if let Some(panic) = cause.downcast_ref::<PanicReport>() {
                    backtrace = panic.backtrace.clone();
                    place = format!("panic at {}", panic.location);
                }
                source = cause.source();
            }
            if let (AppError::Unexpected(_, origin), true) = (error, place.is_empty()) {
                place = format!("error at {}:{}", origin.file(), origin.line());
            }
            if let AppError::Unexpected(inner, _)
            | AppError::Unavailable(inner)
            | AppError::DatabaseDown { cause: inner, .. } = error
            {
                let captured = inner.backtrace();
                if backtrace.is_empty()
                    && captured.status() == std::backtrace::BacktraceStatus::Captured
                {
                    backtrace = captured.to_string();
                }
            }
        } else {
            chain.push(one_line(fallback));
        }
        ErrorReport {
            id: String::new(),
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            chain,
            place,
            backtrace,
            method: String::new(),
            path: String::new(),
            query: String::new(),
            user: String::new(),
            user_id: None,
            client: String::new(),
            headers: Vec::new(),
            form: Vec::new(),
            task: String::new(),
        }
    }

    /// The first line of the error's cause (what the code was doing when it failed): the
    /// first line, "An unexpected error has occurred.", is the same for every error.
    pub fn headline(&self) -> &str {
        self.chain
            .get(1)
            .or_else(|| self.chain.first())
            .map(String::as_str)
            .unwrap_or("An unexpected error has occurred.")
    }
}
