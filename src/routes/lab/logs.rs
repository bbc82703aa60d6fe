//! `GET /lab/logs?request_id=…`: what one request left behind — its lines in microblog.log and in
//! errors.log, and its error mail in the outbox (or the later mail that counted it) — so a
//! learner sees the whole path in the browser.

use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::errors::AppError;
use crate::mail::outbox_dir;
use crate::web::page::Page;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct LogsQuery {
    #[serde(default)]
    request_id: String,
}

/// A mail found in the outbox.
#[derive(Serialize)]
struct OutboxMail {
    file: String,
    /// The mail as written; empty for a mail that only counted this request, whose report is
    /// of another request (maybe another user's form fields).
    text: String,
    /// True when the request's error was not mailed on its own but counted in this later mail.
    counted: bool,
}

/// What the log folder holds about one request.
#[derive(Default)]
struct Findings {
    lines: Vec<String>,
    error_lines: Vec<String>,
    mails: Vec<OutboxMail>,
}

/// `GET /lab/logs?request_id=…`.
#[tracing::instrument(name = "Lab logs", skip_all)]
pub async fn logs(
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<LogsQuery>,
) -> Result<HttpResponse, AppError> {
    // Only a whole request id (a UUID) is searched for: a fragment such as `-` would match
    // every line of every file.
    let id: String = query.request_id.trim().chars().take(64).collect();
    let valid = uuid::Uuid::parse_str(&id).is_ok() && id.len() == 36;
    let log_dir = state.settings.log.dir.clone();
    let backups = state.settings.log.backup_count;
    let search = id.clone();
    let findings = if valid {
        web::block(move || find(&log_dir, backups, &search))
            .await
            .map_err(|error| AppError::unexpected(error))?
    } else {
        Findings::default()
    };
    let mut context = Context::new();
    context.insert("title", "Lab: what one request left");
    context.insert("searched", &id);
    context.insert("lines", &findings.lines);
    context.insert("error_lines", &findings.error_lines);
    context.insert("mails", &findings.mails);
    context.insert("mail", &state.mailer.description);
    context.insert("smtp", &state.settings.mail.server.is_some());
    page.render("lab/logs.html", StatusCode::OK, context)
}

/// Reads both log files (with their backups) and the outbox for `id`.
fn find(log_dir: &Path, backups: usize, id: &str) -> Findings {
    Findings {
        lines: lines_of(log_dir, "microblog.log", backups, id),
        error_lines: lines_of(log_dir, "errors.log", backups, id),
        mails: mails_of(log_dir, id),
    }
}

/// The lines of `name` (and its backups, oldest first) that carry `id`, each with its escaped
/// line breaks shown as breaks, so an error chain reads as it does in a mail.
fn lines_of(log_dir: &Path, name: &str, backups: usize, id: &str) -> Vec<String> {
    let mut files: Vec<_> = (1..=backups)
        .rev()
        .map(|n| log_dir.join(format!("{name}.{n}")))
        .collect();
    files.push(log_dir.join(name));
    let mut found = Vec::new();
    for file in files {
        if let Ok(bytes) = std::fs::read(&file) {
            let text = String::from_utf8_lossy(&bytes);
            found.extend(
                text.lines()
                    .filter(|line| line.contains(id))
                    .map(|line| line.replace("\\n", "\n    ")),
            );
        }
    }
    found
}

/// Error mails about `id`: its own (`Error id: …`), or the later one that counted it
/// (`Counted: …`), named without its body: that mail reports another request. Other mails in
/// the outbox (password reset links) are nobody else's business.
fn mails_of(log_dir: &Path, id: &str) -> Vec<OutboxMail> {
    let own = format!("Error id: {id}");
    let counted = format!("Counted: {id}");
    let mut mails = Vec::new();
    let Ok(entries) = std::fs::read_dir(outbox_dir(log_dir)) else {
        return mails;
    };
    for entry in entries.flatten() {
        let Ok(raw) = std::fs::read(entry.path()) else {
            continue;
        };
        let decoded =
            quoted_printable::decode(&raw, quoted_printable::ParseMode::Robust).unwrap_or(raw);
        let text = String::from_utf8_lossy(&decoded).into_owned();
        let is_own = text.lines().any(|line| line.trim_end() == own);
        let is_counted = text.lines().any(|line| line.trim_end() == counted);
        if is_own || is_counted {
            mails.push(OutboxMail {
                file: entry.file_name().to_string_lossy().into_owned(),
                text: if is_own { text } else { String::new() },
                counted: !is_own,
            });
        }
    }
    mails
}
