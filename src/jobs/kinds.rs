//! What each kind of job does. A kind is a name in the `jobs` table; an unknown one (a job from
//! a newer version, say) fails, and so ends dead and visible rather than lost.

use std::sync::Arc;
use std::time::Duration;

use super::export::{export_posts, EXPORT_POSTS};
use super::worker::{JobContext, Runner, Work};
use crate::db::DbPool;
use crate::errors::AppError;
use crate::mail::Mailer;

/// The lab's job that fails on its first two attempts, then succeeds.
pub const LAB_RETRY: &str = "lab-job-retry";
/// The lab's job that always fails.
pub const LAB_DEAD: &str = "lab-job-dead";
/// The lab's cleanup that cannot find its work folder (the background-task experiment).
pub const LAB_CLEANUP: &str = "lab-cleanup";
/// The lab's job that takes about ten seconds, reporting its progress.
pub const LAB_SLOW: &str = "lab-job-slow";

/// The runner of every kind; the export reads from `pool` and mails with `mailer`.
pub fn runner(pool: DbPool, mailer: Arc<Mailer>) -> Runner {
    Arc::new(move |context: JobContext| -> Work {
        let (pool, mailer) = (pool.clone(), mailer.clone());
        Box::pin(async move {
            match context.job.kind.as_str() {
                EXPORT_POSTS => export_posts(&context, &pool, &mailer).await,
                LAB_RETRY => flaky(&context),
                LAB_DEAD => Err(AppError::unexpected(anyhow::anyhow!(
                    "The lab's job fails every time"
                ))
                .context("Failed to run the lab's job-dead")),
                LAB_SLOW => slow(&context).await,
                LAB_CLEANUP => Err(AppError::unexpected(anyhow::anyhow!(
                    "The lab's cleanup task could not find its work folder"
                ))
                .context("Failed to clean up old lab data")),
                other => Err(AppError::unexpected(anyhow::anyhow!(
                    "No job of this kind is known: {other}"
                ))),
            }
        })
    })
}

fn flaky(context: &JobContext) -> Result<(), AppError> {
    if context.job.attempts < 3 {
        return Err(AppError::unexpected(anyhow::anyhow!(
            "The lab's flaky job failed on attempt {}",
            context.job.attempts
        ))
        .context("Failed to run the lab's job-retry"));
    }
    Ok(())
}

async fn slow(context: &JobContext) -> Result<(), AppError> {
    for step in 1..=10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        context.progress(step * 10).await?;
    }
    Ok(())
}
