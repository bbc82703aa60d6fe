//! Health for monitors and load balancers: `/healthz` says the process is alive, `/readyz` that
//! it can serve (the database answers and it is not shutting down).

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;

use crate::db::{self, schema::users};
use crate::errors::{AppError, ResultExt};
use crate::web::state::AppState;

/// `GET /healthz`: 200 while the process serves at all.
#[tracing::instrument(name = "Liveness check", skip_all)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

/// `GET /readyz`: 200 when the database answers and the site is not draining; 503 otherwise,
/// so a load balancer sends the traffic elsewhere.
#[tracing::instrument(name = "Readiness check", skip_all)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.draining.load(Ordering::SeqCst) {
        return Ok(HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
            .json(serde_json::json!({ "status": "draining" })));
    }
    db::run(&state.pool, |conn| {
        // Reads a table: on SQLite `SELECT 1` would succeed without the database file.
        users::table
            .select(users::id)
            .first::<i32>(conn)
            .optional()
            .context("The database did not answer the readiness check")
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
