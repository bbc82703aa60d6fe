//! One small handler per lesson. Each shows one way to fail, and how this app answers it; its
//! card (what it does, what you see, where to look) is `templates/lab/experiments/<name>.html`.

use crate::jobs::kinds;
use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use diesel::prelude::*;
use serde::Deserialize;
use tera::Context;

use super::outcome::result;
use crate::config::MailSettings;
use crate::db::{self, schema::users};
use crate::errors::{AppError, Chain, ResultExt};
use crate::mail::Mailer;
use crate::models::{self, NewUser, User};
use crate::web::client::client_ip;
use crate::web::page::Page;
use crate::web::state::AppState;

/// A handler that panics.
pub(super) fn panic() -> Result<HttpResponse, AppError> {
    let missing: Option<&str> = None;
    // On purpose: the lab shows what a panicking handler looks like to users and developers.
    #[allow(clippy::unnecessary_literal_unwrap)]
    let value = missing.expect("the lab's panic experiment: a value that was never there");
    Ok(HttpResponse::Ok().body(value.to_string()))
}

/// The rename that the edit-profile form prevents, done without the check, inside a
/// transaction that has already written a post.
pub(super) async fn db_error(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let me = page.require_user()?.id;
    db::run(&state.pool, move |conn| {
        let taken = rival_username(conn, me)?;
        db::write_transaction(conn, |conn| {
            models::create_post(
                conn,
                me,
                "Written by the lab's db-error experiment, then rolled back.",
            )?;
            // The form's "Please use a different username." check is skipped here, as in the
            // Flask chapter before its fix: only the unique index stands in the way. And the
            // violation is made a 500 on purpose: `edit_profile` expects a taken name, so it
            // lets `errors/conversions.rs` turn the violation into `AppError::Taken` and shows
            // a form error; this code does not expect it, so for it the violation is a bug.
            diesel::update(users::table.find(me))
                .set(users::username.eq(&taken))
                .execute(conn)
                .map_err(|e| AppError::unexpected(e).context("Failed to rename the user"))?;
            Ok(())
        })
    })
    .await?;
    Err(AppError::unexpected(anyhow::anyhow!(
        "The rename to a taken username was expected to fail"
    )))
}

/// A username other than `me`'s that exists, creating a demo user when the site has only one.
fn rival_username(conn: &mut db::DbConnection, me: i32) -> Result<String, AppError> {
    let other: Option<String> = users::table
        .filter(users::id.ne(me))
        .select(users::username)
        .first(conn)
        .optional()
        .context("Failed to find another user")?;
    match other {
        Some(name) => Ok(name),
        None => {
            let rival = NewUser {
                username: "lab-rival",
                email: "lab-rival@example.com",
                // Not a valid PHC hash: nobody can log in as this demo user.
                password_hash: "!",
            };
            Ok(User::insert(conn, &rival)?.username)
        }
    }
}

/// diesel's NotFound, converted to a 404 in `errors/conversions.rs`; the handler names what was
/// missing, for the 404 page.
pub(super) async fn not_found(state: &AppState) -> Result<HttpResponse, AppError> {
    db::run(&state.pool, |conn| {
        users::table
            .find(-1)
            .select(users::username)
            .first::<String>(conn)
            .map_err(|error| match AppError::from(error) {
                AppError::NotFound => AppError::Missing("There is no user number -1.".to_string()),
                other => other,
            })
    })
    .await?;
    Err(AppError::unexpected(anyhow::anyhow!(
        "User -1 was expected not to exist"
    )))
}

/// A read of a file that is not on disk.
pub(super) async fn file_not_found() -> Result<HttpResponse, AppError> {
    let file = "static/reports/missing.csv";
    match tokio::fs::read(file).await {
        Ok(bytes) => Ok(HttpResponse::Ok().content_type("text/csv").body(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::MissingFile {
            file: file.to_string(),
        }),
        Err(e) => Err(AppError::unexpected(e).context("Failed to read a report")),
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Only parsed, to show the error.
struct Person {
    age: u8,
}

/// Input that does not parse: a 400 whose message says what is wrong with it.
pub(super) fn bad_input(
    page: &Page,
    fields: &HashMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let value = fields.get("value").map(String::as_str).unwrap_or("");
    match serde_json::from_str::<Person>(value) {
        Ok(person) => result(
            page,
            "bad-input",
            &format!(
                "That is a valid person: {person:?}. Now try an age above 255, or broken JSON."
            ),
            None,
        ),
        Err(e) => Err(AppError::BadRequest(format!(
            "The value is not a valid person: {e}."
        ))),
    }
}

/// A template that uses a variable the handler does not set.
pub(super) fn template_error(page: &Page) -> Result<HttpResponse, AppError> {
    page.render("lab/broken.html", StatusCode::OK, Context::new())
}

/// Graceful degradation: the quote service is down, the page still renders.
pub(super) async fn external_api(page: &Page) -> Result<HttpResponse, AppError> {
    let quote = match fetch_quote().await {
        Ok(quote) => quote,
        Err(e) => {
            tracing::warn!(service = "quote service", error = %e, "An external service failed; showing the fallback");
            "The best error message says what to do next. (fallback quote)".to_string()
        }
    };
    let mut context = Context::new();
    context.insert("quote", &quote);
    result(
        page,
        "external-api",
        "The quote service is down, so this page shows a fallback quote instead of failing.",
        Some(context),
    )
}

/// Asks a quote service that is not running (a port nobody listens on) for a quote.
async fn fetch_quote() -> std::io::Result<String> {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", closed_port));
    let _stream = tokio::time::timeout(Duration::from_secs(1), connect)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the quote service did not answer",
            )
        })??;
    Err(std::io::Error::other(
        "the quote service answered unexpectedly",
    ))
}

/// Work slower than its deadline, cut off with a 503.
pub(super) async fn slow(page: &Page) -> Result<HttpResponse, AppError> {
    let deadline = Duration::from_millis(500);
    let work = tokio::time::sleep(Duration::from_secs(3));
    tokio::time::timeout(deadline, work).await.map_err(|_| {
        AppError::Unavailable(anyhow::anyhow!(
            "The slow experiment did not finish within its deadline of {deadline:?}"
        ))
    })?;
    result(page, "slow", "The work finished within its deadline.", None)
}

/// Work outside any request that fails: a job on the queue, with one attempt, so it is dead
/// (and told) at once.
pub(super) async fn background_task(
    page: &Page,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    state
        .jobs
        .add_with_attempts(kinds::LAB_CLEANUP, "{}".to_string(), None, 1)
        .await?;
    result(
        page,
        "background-task",
        "A background job named lab-cleanup is queued; it fails in a moment, outside this request.",
        None,
    )
}

/// A mail through a server that is not there.
pub(super) async fn mail_down(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| AppError::unexpected(e).context("Failed to find a closed port"))?;
    let settings = MailSettings {
        server: Some("127.0.0.1".to_string()),
        port: closed_port,
        use_tls: false,
        username: None,
        password: None,
        timeout_seconds: 2,
        ..state.settings.mail.clone()
    };
    let mailer = Mailer::new(&settings, &state.settings.log.dir)
        .map_err(|e| AppError::unexpected(e).context("Failed to set up the lab's mailer"))?;
    let to = vec!["lab@example.com".to_string()];
    let message = match mailer
        .send(&to, "Lab test", "Hello from the lab.".to_string())
        .await
    {
        Ok(()) => "Surprisingly, the mail was sent.",
        Err(e) => {
            tracing::error!(error.chain = %Chain(&e), "A mail could not be sent");
            "Sorry, we could not send the mail right now. Please try again in a few minutes."
        }
    };
    result(page, "mail-down", message, None)
}

/// One line at each level, and which outputs they reach at the current LOG_LEVEL.
pub(super) fn log_levels(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    tracing::trace!(experiment = "log-levels", "A TRACE line: the finest detail");
    tracing::debug!(experiment = "log-levels", "A DEBUG line: for developers");
    tracing::info!(experiment = "log-levels", "An INFO line: normal operation");
    tracing::warn!(
        experiment = "log-levels",
        "A WARN line: something to look at"
    );
    tracing::error!(experiment = "log-levels", "An ERROR line: something failed");
    let levels = [
        tracing::Level::TRACE,
        tracing::Level::DEBUG,
        tracing::Level::INFO,
        tracing::Level::WARN,
        tracing::Level::ERROR,
    ];
    let rows: Vec<(String, bool, bool)> = levels
        .iter()
        .map(|level| {
            let enabled = match *level {
                tracing::Level::TRACE => tracing::enabled!(tracing::Level::TRACE),
                tracing::Level::DEBUG => tracing::enabled!(tracing::Level::DEBUG),
                tracing::Level::INFO => tracing::enabled!(tracing::Level::INFO),
                tracing::Level::WARN => tracing::enabled!(tracing::Level::WARN),
                _ => tracing::enabled!(tracing::Level::ERROR),
            };
            (
                level.to_string(),
                enabled,
                enabled && *level == tracing::Level::ERROR,
            )
        })
        .collect();
    let mut context = Context::new();
    context.insert("levels", &rows);
    context.insert("log_level", &state.settings.log.level);
    result(
        page,
        "log-levels",
        "Five lines were logged, one at each level.",
        Some(context),
    )
}

/// A rate limit small enough to reach by hand: three presses a minute per client.
pub(super) fn rate_limit(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let client = client_ip(page.request(), &state.settings.trusted_proxies);
    state.rate_limits.lab(client)?;
    result(
        page,
        "rate-limit",
        "Allowed: this limit takes three presses a minute from one address. Press again.",
        None,
    )
}
