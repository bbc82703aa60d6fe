//! The error inbox from the lab: a failure that was resolved comes back.

use actix_web::HttpResponse;

use crate::db;
use crate::errors::report::ErrorReport;
use crate::errors::AppError;
use crate::tracking::fingerprint::group_id;
use crate::tracking::inbox::{self, Status};
use crate::web::state::AppState;

/// `POST /lab/regression`: marks the group of this experiment's failure resolved, as an admin
/// who shipped a fix would, then fails from the same place again. Counted, the group reopens
/// as a regression, and its mail's subject says so. The first press only makes the group.
pub(super) async fn regression(state: &AppState) -> Result<HttpResponse, AppError> {
    let failure = the_bug_that_came_back();
    let group = group_id(&ErrorReport::from_error(Some(&failure), "").place);
    let resolved = db::run(&state.pool, move |conn| {
        inbox::set_status(conn, &group, Status::Resolved)
    })
    .await?;
    tracing::info!(resolved, "Lab: the regression's group was marked resolved");
    Err(failure)
}

/// Always the same place in the code, so always the same group.
fn the_bug_that_came_back() -> AppError {
    AppError::unexpected(anyhow::anyhow!("The bug you fixed is back"))
        .context("Failed to show the lab's regression")
}
