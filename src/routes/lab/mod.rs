//! The error lab: buttons that break the site on purpose, so that every lesson of error handling
//! can be seen from the browser. Its routes exist only while ERROR_LAB is on (`startup.rs`), so it
//! never ships to production by accident.
//!
//! `experiments.rs` holds one small handler per idea; `logs.rs` reads back what one request left
//! in the logs and the outbox.

mod experiments;
mod logs;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use tera::Context;

use crate::csrf::CsrfForm;
use crate::errors::AppError;
use crate::page::Page;
use crate::startup::AppState;

pub use logs::logs;

/// One card of the lab, as `lab.html` shows it.
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
    /// Extra form fields the button sends, as (name, value).
    pub fields: &'static [(&'static str, &'static str)],
}

const NO_FIELDS: &[(&str, &str)] = &[];

/// Every experiment, in the order the lab shows them.
pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "panic",
        title: "A handler panics",
        does: "Calls expect() on a value that is not there, as a forgotten unwrap() would.",
        user_sees: "500, our error page with the error id. DEBUG=1: the development page with the panic's message, its location and (with RUST_BACKTRACE=1) the backtrace. The server keeps serving.",
        look_at: "One ERROR line with the message and location in microblog.log and errors.log; one error mail (an .eml in logs/mail/ without MAIL_SERVER). DEBUG=1 sends no mail.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "db-error",
        title: "The Flask chapter's bug: rename to a taken username",
        does: "In one transaction, writes a post for you, then renames you to a username another user has, with the form's check switched off. The unique index refuses the rename. Log in first.",
        user_sees: "500, our error page. DEBUG=1: the chain down to \"UNIQUE constraint failed: users.username\".",
        look_at: "One ERROR line with the whole chain; one error mail. The database holds neither the post nor the new name: the transaction was rolled back. (If you are the only user, a demo user lab-rival is created first, outside the transaction, so there is a name to collide with.) Edit Profile, where the check is on, answers the same rename with \"Please use a different username.\"",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "not-found",
        title: "A lookup of something that does not exist",
        does: "Loads user number -1 from the database; diesel answers NotFound, which errors.rs turns into a 404.",
        user_sees: "404, our page with a search box (a problem document for JSON clients).",
        look_at: "One INFO line \"Request refused\" with status=404; no mail: a 404 is not a bug.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "file-not-found",
        title: "A file that is not there",
        does: "Reads static/reports/missing.csv from disk.",
        user_sees: "404: our page for a browser, a problem document (application/problem+json) for a JSON client.",
        look_at: "One WARN line \"A file was not found\" with the file's path and your user id (a missing file may be a deployment mistake). No mail.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "bad-input",
        title: "Malformed input",
        does: "Parses the JSON in the form, {\"age\": 300}, as a person whose age fits in a u8.",
        user_sees: "400 with a clear message naming the problem; a problem document when JSON is asked for.",
        look_at: "One INFO line \"Request refused\" with the reason. No mail: the client sent bad data.",
        fields: &[("value", "{\"age\": 300}")],
    },
    Experiment {
        name: "template-error",
        title: "A template with a missing variable",
        does: "Renders templates/lab/broken.html, which uses a variable the handler never set.",
        user_sees: "500, our error page. DEBUG=1: the development page naming the template and the variable.",
        look_at: "One ERROR line with Tera's chain; one error mail.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "external-api",
        title: "A service that is down",
        does: "Asks a quote service on a closed local port for the quote of the day.",
        user_sees: "200: the page renders with a fallback quote and a notice (graceful degradation).",
        look_at: "One WARN line naming the service and the failure. No 500, no mail.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "slow",
        title: "A handler slower than its deadline",
        does: "Starts 3 s of work with a 0.5 s deadline.",
        user_sees: "503 after half a second, our page: \"temporarily unavailable\", with the error id.",
        look_at: "One ERROR line with \"deadline\" in the chain. No mail: 503s are load, not bugs.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "background-task",
        title: "A background task fails",
        does: "Spawns a task outside any request that fails a moment later.",
        user_sees: "200: this page says the task started. The failure reaches nobody's browser.",
        look_at: "One ERROR line \"A background task failed\" with task=lab-cleanup and no request id; one error mail \"Task: lab-cleanup\".",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "mail-down",
        title: "The mail server is down",
        does: "Sends a mail through an SMTP server on a closed local port.",
        user_sees: "200 with a kind message: the mail could not be sent, try again later.",
        look_at: "One ERROR line \"A mail could not be sent\" with the SMTP error. The site is unaffected; no error mail (it could not be sent either).",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "log-levels",
        title: "One line at each level",
        does: "Logs one line at TRACE, DEBUG, INFO, WARN and ERROR.",
        user_sees: "200 with a table: which lines reach the console and microblog.log (LOG_LEVEL and above) and errors.log (ERROR only).",
        look_at: "microblog.log and errors.log, with this request's id. No mail: an ERROR log line is not an unhandled error.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "forbidden",
        title: "Not allowed",
        does: "Returns AppError::Forbidden, as a handler does when you act on what is not yours.",
        user_sees: "403, our page.",
        look_at: "One INFO line \"Request refused\" with status=403. No mail.",
        fields: NO_FIELDS,
    },
    Experiment {
        name: "too-large",
        title: "A request body over the limit",
        does: "Posts a 2 KiB field (drawn by the template) to a route whose body limit is 1 KiB; the site's limit is 64 KiB.",
        user_sees: "413, our page: \"The request is too large.\"",
        look_at: "One INFO line \"Request refused\" with status=413. No mail.",
        fields: NO_FIELDS,
    },
];

/// `GET /lab`: one card per experiment.
#[tracing::instrument(name = "Lab", skip_all)]
pub async fn lab(page: Page, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("title", "Error lab");
    context.insert("experiments", EXPERIMENTS);
    context.insert("log_level", &state.settings.log.level);
    context.insert("mail", &state.mailer.description);
    page.render("lab/index.html", StatusCode::OK, context)
}

/// The form of every experiment: its CSRF token, and whatever else it sends.
pub type ExperimentForm = CsrfForm<std::collections::HashMap<String, String>>;

/// `POST /lab/<experiment>`: runs one experiment.
#[tracing::instrument(name = "Lab experiment", skip(page, state, form))]
pub async fn run(
    form: ExperimentForm,
    page: Page,
    state: web::Data<AppState>,
    experiment: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let CsrfForm(fields) = form;
    match experiment.as_str() {
        "panic" => experiments::panic(),
        "db-error" => experiments::db_error(&page, &state).await,
        "not-found" => experiments::not_found(&state).await,
        "file-not-found" => experiments::file_not_found().await,
        "bad-input" => experiments::bad_input(&fields),
        "template-error" => experiments::template_error(&page),
        "external-api" => experiments::external_api(&page).await,
        "slow" => experiments::slow(&page).await,
        "background-task" => experiments::background_task(&page, &state),
        "mail-down" => experiments::mail_down(&page, &state).await,
        "log-levels" => experiments::log_levels(&page, &state),
        "forbidden" => Err(AppError::Forbidden),
        _ => Err(AppError::NotFound),
    }
}

/// `POST /lab/too-large`, which `startup.rs` gives a 1 KiB body limit: the button's 2 KiB form
/// is refused with 413 before this runs.
#[tracing::instrument(name = "Lab experiment too-large", skip_all)]
pub async fn too_large(_form: ExperimentForm, page: Page) -> Result<HttpResponse, AppError> {
    experiments::result(&page, "too-large", "The body fitted under the limit.", None)
}
