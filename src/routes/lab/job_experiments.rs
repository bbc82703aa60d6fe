//! The job queue from the lab: a job that fails twice then succeeds, one that always fails, and
//! one slow enough to pull the plug on.

use actix_web::HttpResponse;
use tera::Context;

use super::outcome::result;
use crate::errors::AppError;
use crate::web::page::Page;
use crate::web::state::AppState;

/// `POST /lab/job-retry`, `/lab/job-dead`, `/lab/job-slow`: queues the job of `kind`.
pub(super) async fn queue(
    page: &Page,
    state: &AppState,
    kind: &'static str,
) -> Result<HttpResponse, AppError> {
    let id = state.jobs.add(kind, "{}".to_string(), None).await?;
    let mut context = Context::new();
    context.insert("job_id", &id);
    let experiment = kind.trim_start_matches("lab-");
    result(
        page,
        experiment,
        &format!(
            "Job {id} is queued. Admins see its attempts, waits and last error in /admin/jobs."
        ),
        Some(context),
    )
}
