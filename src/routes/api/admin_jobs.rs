//! The background jobs as JSON, for admins' tokens: `GET /api/admin/jobs`.

use actix_web::{web, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::representations::{Collection, Failures, PageQuery};
use crate::db;
use crate::errors::AppError;
use crate::jobs::listing;
use crate::jobs::queue::Job;
use crate::web::state::AppState;

/// A job's status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Retrying,
    Succeeded,
    Dead,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Retrying => "retrying",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }
}

/// One background job.
#[derive(Serialize, ToSchema)]
pub struct JobOut {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The causes of the last failure, redacted; empty if it never failed.
    pub last_error: String,
    /// Percent; 100 only once it succeeded.
    pub progress: i32,
    /// When it runs (again), RFC 3339, UTC.
    pub run_at: String,
    pub updated_at: String,
}

fn rfc3339(time: NaiveDateTime) -> String {
    time.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<Job> for JobOut {
    fn from(job: Job) -> Self {
        JobOut {
            id: job.id,
            kind: job.kind,
            status: job.status,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            last_error: job.last_error,
            progress: job.progress,
            run_at: rfc3339(job.run_at),
            updated_at: rfc3339(job.updated_at),
        }
    }
}

/// `?status=` besides the page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Only jobs with this status.
    pub status: Option<JobStatus>,
}

/// Admins only: the background jobs, most recently changed first.
#[utoipa::path(get, path = "/api/admin/jobs", tag = "admin", params(PageQuery, JobsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<JobOut>), Failures))]
#[tracing::instrument(name = "API: admin jobs", skip_all)]
pub async fn list(
    caller: ApiUser,
    page: web::Query<PageQuery>,
    query: web::Query<JobsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let (page, per_page) = page.window()?;
    let status = query.status.map(JobStatus::as_str);
    let jobs = db::run(&state.pool, move |conn| {
        listing::latest(conn, status, page, per_page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Collection::new(
        "/api/admin/jobs",
        jobs,
        per_page,
        JobOut::from,
    )))
}
