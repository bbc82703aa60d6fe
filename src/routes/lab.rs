//! The error lab: buttons that break the site on purpose, so that every lesson of error handling
//! can be seen from the browser. Served only while ERROR_LAB is on (a 404 otherwise), so it never
//! ships to production by accident.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;
use tera::Context;

use crate::csrf::CsrfForm;
use crate::db::{self, schema::users};
use crate::errors::{AppError, ResultExt};
use crate::forms::EmptyForm;
use crate::models::{self, NewUser, User};
use crate::page::Page;
use crate::startup::AppState;

/// One button of the lab, as `lab.html` shows it.
#[derive(Serialize)]
pub struct Experiment {
    pub name: &'static str,
    pub title: &'static str,
    /// What the handler does.
    pub does: &'static str,
    /// The page and status the user gets.
    pub user_sees: &'static str,
    /// Where a developer finds the trace: logs, mail, database.
    pub look_at: &'static str,
}

/// Every experiment, in the order the lab shows them.
pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "panic",
        title: "A handler panics",
        does: "Calls a function that panics, as an unwrap() on None would.",
        user_sees: "Our 500 page with the error id (DEBUG=1: the development page with the panic message, its location and the backtrace if RUST_BACKTRACE=1). The server keeps serving.",
        look_at: "One ERROR line with the panic's message and location in microblog.log and errors.log, with the request id; an error mail (or .eml in logs/mail/).",
    },
    Experiment {
        name: "db-error",
        title: "The Flask chapter's bug: a unique violation inside a transaction",
        does: "In one transaction, writes a post for you, then renames you to a username that is already taken, skipping the form's check. The unique index refuses the rename.",
        user_sees: "Our 500 page (DEBUG=1: the chain down to \"UNIQUE constraint failed: users.username\").",
        look_at: "One ERROR line with the whole chain; an error mail. The database holds neither the post nor the new name: the transaction was rolled back. Compare with Edit Profile, where the same rename is a form error.",
    },
];

/// 404 unless the lab is on.
fn ensure_enabled(state: &AppState) -> Result<(), AppError> {
    if state.settings.error_lab {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// `GET /lab`: one card per experiment.
#[tracing::instrument(name = "Lab", skip_all)]
pub async fn lab(page: Page, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ensure_enabled(&state)?;
    let mut context = Context::new();
    context.insert("title", "Error lab");
    context.insert("experiments", EXPERIMENTS);
    context.insert("debug", &state.settings.debug);
    page.render("lab.html", StatusCode::OK, context)
}

/// `POST /lab/<experiment>`: runs one experiment.
#[tracing::instrument(name = "Lab experiment", skip(page, state, _form))]
pub async fn run(
    page: Page,
    state: web::Data<AppState>,
    experiment: web::Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    ensure_enabled(&state)?;
    match experiment.as_str() {
        "panic" => panic_experiment(),
        "db-error" => db_error(&page, &state).await,
        _ => Err(AppError::NotFound),
    }
}

fn panic_experiment() -> Result<HttpResponse, AppError> {
    let missing: Option<&str> = None;
    // On purpose: the lab shows what a panicking handler looks like to users and developers.
    #[allow(clippy::unnecessary_literal_unwrap)]
    let value = missing.expect("the lab's panic experiment: a value that was never there");
    Ok(HttpResponse::Ok().body(value.to_string()))
}

/// The rename that the edit-profile form prevents, done without the check, inside a
/// transaction that has already written a post.
async fn db_error(page: &Page, state: &AppState) -> Result<HttpResponse, AppError> {
    let me = page.require_user()?.id;
    db::run(&state.pool, move |conn| {
        let taken = rival_username(conn, me)?;
        conn.immediate_transaction(|conn| {
            models::create_post(
                conn,
                me,
                "Written by the lab's db-error experiment, then rolled back.",
            )?;
            // The form's "Please use a different username." check is skipped here, as in the
            // Flask chapter before its fix: only the unique index stands in the way.
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
fn rival_username(conn: &mut SqliteConnection, me: i32) -> Result<String, AppError> {
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
