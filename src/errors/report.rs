//! [`ErrorReport`]: everything a developer needs about one failure, secrets removed. Plain data:
//! the layer that holds the request fills in the request's part (`pages.rs`). The development
//! error page shows it and the error mail sends it, in the same plain-text form.

use std::fmt::Write as _;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use super::panics::PanicReport;
use super::AppError;

/// One failure, as a developer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// The request id (empty for failures outside a request).
    pub id: String,
    pub time: String,
    /// The error's first line, then each cause.
    pub chain: Vec<String>,
    /// Where the error came from, to tell repeats of the same error apart from new ones.
    pub place: String,
    pub backtrace: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub user: String,
    pub client: String,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// The background task that failed, for failures outside requests.
    pub task: String,
}

impl ErrorReport {
    /// The report of `error` alone; the caller adds what it knows of the request or task.
    pub fn from_error(error: Option<&AppError>, fallback: &str) -> Self {
        let mut chain = Vec::new();
        let mut backtrace = String::new();
        let mut place = String::new();
        if let Some(error) = error {
            chain.push(error.to_string());
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                chain.push(cause.to_string());
                if let Some(panic) = cause.downcast_ref::<PanicReport>() {
                    backtrace = panic.backtrace.clone();
                    place = panic.location.clone();
                }
                source = cause.source();
            }
            if let AppError::Unexpected(inner) | AppError::Unavailable(inner) = error {
                let captured = inner.backtrace();
                if backtrace.is_empty()
                    && captured.status() == std::backtrace::BacktraceStatus::Captured
                {
                    backtrace = captured.to_string();
                }
            }
        } else {
            chain.push(fallback.to_string());
        }
        if place.is_empty() {
            // Without a location, the innermost cause names the kind of failure well enough.
            place = chain.last().cloned().unwrap_or_default();
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

    /// The report as plain text, for a mail or for pasting into an issue.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let id = if self.id.is_empty() {
            "(outside any request)"
        } else {
            &self.id
        };
        let _ = writeln!(text, "Error id: {id}");
        let _ = writeln!(text, "Time:     {}", self.time);
        if !self.task.is_empty() {
            let _ = writeln!(text, "Task:     {}", self.task);
        }
        if !self.method.is_empty() {
            let query = if self.query.is_empty() {
                String::new()
            } else {
                format!("?{}", self.query)
            };
            let _ = writeln!(text, "Request:  {} {}{query}", self.method, self.path);
            let _ = writeln!(text, "User:     {}", self.user);
            let _ = writeln!(text, "Client:   {}", self.client);
        }
        let _ = writeln!(
            text,
            "\nError:\n    {}",
            self.chain.first().map(String::as_str).unwrap_or("")
        );
        for cause in self.chain.iter().skip(1) {
            let _ = writeln!(text, "\nCaused by:\n    {cause}");
        }
        if !self.headers.is_empty() {
            let _ = writeln!(text, "\nHeaders:");
            for (name, value) in &self.headers {
                let _ = writeln!(text, "    {name}: {value}");
            }
        }
        if !self.form.is_empty() {
            let _ = writeln!(text, "\nForm fields:");
            for (name, value) in &self.form {
                let _ = writeln!(text, "    {name} = {value}");
            }
        }
        if !self.backtrace.is_empty() {
            let _ = writeln!(text, "\nBacktrace:\n{}", self.backtrace);
        }
        text
    }
}
