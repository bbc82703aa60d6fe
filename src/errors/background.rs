//! Work that runs outside any request, and what happens when it fails: one ERROR line with the
//! task's name (and no request id, since there is no request) and a mail to the admins, exactly
//! as for a failed request.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use super::report::ErrorReport;
use super::AppError;
use crate::mail::error_reports::ErrorReporter;

/// Spawns `task` detached from the current request, reporting its failure.
pub fn spawn_task<F>(name: &'static str, reporter: Arc<ErrorReporter>, task: F)
where
    F: Future<Output = Result<(), AppError>> + 'static,
{
    // `parent: None`: the task must not inherit the request's span, and with it its request id.
    let span = tracing::info_span!(parent: None, "background_task", task = name);
    actix_web::rt::spawn(
        async move {
            // A panicking task is a failed task too, reported the same way.
            if let Err(error) = super::panics::catching_async(task).await {
                tracing::error!(task = name, error.chain = ?error, "A background task failed");
                let mut report = ErrorReport::from_error(Some(&error), name);
                report.place = match report.place.as_str() {
                    "" => format!("background task {name}"),
                    place => format!("background task {name}: {place}"),
                };
                report.task = name.to_string();
                reporter.report(report);
            }
        }
        .instrument(span),
    );
}
