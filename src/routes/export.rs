//! "Export your posts": `POST /export_posts` (the button on the index) queues the job, one at
//! a time per user; `GET /export_posts` says how it is going, for `static/export.js`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::db;
use crate::errors::AppError;
use crate::jobs::export::EXPORT_POSTS;
use crate::jobs::queue::{self, Job};
use crate::web::flash::Level;
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

const ALREADY: &str = "An export of your posts is already running: it will arrive by mail.";

/// `POST /export_posts`.
#[tracing::instrument(name = "Export posts", skip_all)]
pub async fn request_export(
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let latest = db::run(&state.pool, move |conn| {
        queue::latest_of(conn, EXPORT_POSTS, user_id)
    })
    .await?;
    if let Some(job) = &latest {
        if unfinished(job) {
            page.flash(Level::Info, ALREADY);
            return Ok(see_other("/index"));
        }
        // Each export is a mail: one a minute is plenty, and bounds what a script can send.
        let since = chrono::Utc::now().naive_utc() - job.updated_at;
        if job.status == "succeeded" && since < chrono::TimeDelta::minutes(1) {
            page.flash(
                Level::Info,
                "Your posts were mailed to you a moment ago. Try again in a minute.",
            );
            return Ok(see_other("/index"));
        }
    }
    match state
        .jobs
        .add(EXPORT_POSTS, "{}".to_string(), Some(user_id))
        .await
    {
        Ok(_) => page.flash(
            Level::Success,
            "Your posts are being exported: they will arrive by mail.",
        ),
        // Two presses that raced: the unique index let one through.
        Err(AppError::Taken(_)) => page.flash(Level::Info, ALREADY),
        Err(error) => return Err(error),
    }
    Ok(see_other("/index"))
}

fn unfinished(job: &Job) -> bool {
    matches!(job.status.as_str(), "queued" | "running" | "retrying")
}

/// How the export is going, as the page's script shows it.
#[derive(Serialize)]
struct ExportStatus {
    /// `none`, `queued`, `running`, `retrying`, `succeeded` or `dead`.
    status: String,
    progress: i32,
    message: String,
    /// Whether the script should ask again.
    pending: bool,
}

/// `GET /export_posts`.
#[tracing::instrument(name = "Export status", skip_all)]
pub async fn export_status(
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let latest = db::run(&state.pool, move |conn| {
        queue::latest_of(conn, EXPORT_POSTS, user_id)
    })
    .await?;
    let status = match latest {
        None => ExportStatus {
            status: "none".to_string(),
            progress: 0,
            message: String::new(),
            pending: false,
        },
        Some(job) => {
            let message = match job.status.as_str() {
                "queued" => "Your export is waiting for a worker.".to_string(),
                "running" => format!("Exporting your posts… {}%", job.progress),
                "retrying" => format!(
                    "The export failed; trying again at {} UTC (attempt {} of {}).",
                    job.run_at.format("%H:%M:%S"),
                    job.attempts + 1,
                    job.max_attempts
                ),
                "succeeded" => "Your posts were exported and mailed to you.".to_string(),
                _ => "The export failed. The administrators have been told.".to_string(),
            };
            ExportStatus {
                pending: unfinished(&job),
                progress: if job.status == "succeeded" {
                    100
                } else {
                    job.progress.min(99)
                },
                status: job.status,
                message,
            }
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(status))
}
