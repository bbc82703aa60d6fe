//! `/healthz`: whether the site can answer, for uptime monitors and load balancers.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::db;
use crate::errors::{AppError, ResultExt};
use crate::web::state::AppState;

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
#[tracing::instrument(name = "Health check", skip_all)]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    db::run(&state.pool, |conn| {
        // Reads the schema from the file itself: `SELECT 1` would succeed without a database.
        conn.batch_execute("SELECT count(*) FROM sqlite_master")
            .map_err(|e| AppError::Unavailable(e.into()))
            .context("The database did not answer the health check")
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}
