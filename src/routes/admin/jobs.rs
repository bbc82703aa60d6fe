//! `/admin/jobs`: the background jobs by status, the retrying and dead ones with their last
//! error and attempts, and a "retry now" form for each.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::errors::shown_time;
use crate::db;
use crate::errors::AppError;
use crate::jobs::listing;
use crate::jobs::queue::{self, Job};
use crate::web::flash::Level;
use crate::web::page::Page;
use crate::web::pagination::page_links;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

const PER_PAGE: i64 = 25;

/// The statuses a job can have, in the order the page counts them.
pub const STATUSES: [&str; 5] = ["queued", "running", "retrying", "succeeded", "dead"];

/// `?status=&page=`, as text: a bad value must not answer before the admin check does.
#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    status: Option<String>,
    page: Option<String>,
}

/// One job as the page shows it.
#[derive(Serialize)]
struct JobView {
    id: i64,
    kind: String,
    status: String,
    attempts: i32,
    max_attempts: i32,
    progress: i32,
    last_error: String,
    run_at: String,
    updated_at: String,
}

fn job_view(job: Job) -> JobView {
    JobView {
        id: job.id,
        kind: job.kind,
        status: job.status,
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        progress: job.progress,
        last_error: job.last_error,
        run_at: shown_time(job.run_at),
        updated_at: shown_time(job.updated_at),
    }
}

/// `GET /admin/jobs`.
#[tracing::instrument(name = "Jobs page", skip_all)]
pub async fn jobs(
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<JobsQuery>,
) -> Result<HttpResponse, AppError> {
    page.require_admin()?;
    let status = query
        .status
        .as_deref()
        .filter(|status| !status.is_empty() && *status != "all")
        .map(|status| {
            STATUSES
                .iter()
                .find(|known| **known == status)
                .copied()
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "status must be queued, running, retrying, succeeded, dead or all."
                            .to_string(),
                    )
                })
        })
        .transpose()?;
    let page_number = query
        .page
        .as_deref()
        .and_then(|page| page.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let (counts, list) = db::run(&state.pool, move |conn| {
        Ok::<_, AppError>((
            listing::counts(conn)?,
            listing::latest(conn, status, page_number, PER_PAGE)?,
        ))
    })
    .await?;
    let counts: Vec<(&str, i64)> = STATUSES
        .iter()
        .map(|status| {
            let count = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            (*status, count)
        })
        .collect();
    let status_text = status.unwrap_or("");
    let (newer_url, older_url) = page_links("/admin/jobs", &[("status", status_text)], &list);
    let mut context = Context::new();
    context.insert("title", "Jobs");
    context.insert("counts", &counts);
    context.insert("status", status_text);
    context.insert(
        "jobs",
        &list.items.into_iter().map(job_view).collect::<Vec<_>>(),
    );
    context.insert("newer_url", &newer_url);
    context.insert("older_url", &older_url);
    page.render("admin/jobs.html", StatusCode::OK, context)
}

/// `POST /admin/jobs/{id}/retry`: runs a retrying or dead job again at once.
#[tracing::instrument(name = "Retry job", skip_all)]
pub async fn retry(
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let admin = page.require_admin()?.id;
    let id = id.into_inner();
    let retried = db::run(&state.pool, move |conn| queue::retry_now(conn, id)).await?;
    if !retried {
        return Err(AppError::Missing(
            "There is no retrying or dead job with that number.".to_string(),
        ));
    }
    state.jobs.wake();
    tracing::info!(job = id, admin, "Job retried by an admin");
    page.flash(Level::Success, format!("Job {id} runs again now."));
    Ok(see_other("/admin/jobs"))
}
