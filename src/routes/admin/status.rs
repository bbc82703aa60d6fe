//! `/admin/status`: this instance's last hour, drawn in the browser from
//! `/admin/status.json` and refreshed every few seconds (`static/status.js`; the CSP allows no
//! inline script). The numbers are this instance's, from memory; with several instances,
//! Prometheus is the whole site's view.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use tera::Context;

use crate::errors::AppError;
use crate::metrics::history::Point;
use crate::web::page::Page;
use crate::web::state::AppState;

/// The charts: the series in `/admin/status.json`, a title, a unit.
const CHARTS: [(&str, &str, &str); 11] = [
    ("requests_per_second", "Requests per second", ""),
    ("p50_ms", "Median latency", "ms"),
    ("p99_ms", "99th percentile latency", "ms"),
    ("client_errors", "4xx per minute", ""),
    ("server_errors", "5xx per minute", ""),
    ("error_mails", "Error mails per minute", ""),
    ("rate_limited", "Rate-limit refusals per minute", ""),
    ("resident_mb", "Resident memory", "MB"),
    ("pool_in_use", "Database connections in use", ""),
    ("jobs_waiting", "Jobs queued or retrying", ""),
    ("jobs_dead", "Dead jobs", ""),
];

/// `GET /admin/status`: the page; its charts fill themselves in.
#[tracing::instrument(name = "Status page", skip_all)]
pub async fn status(page: Page, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    page.require_admin()?;
    let mut context = Context::new();
    context.insert("title", "Status");
    context.insert("charts", &CHARTS);
    context.insert(
        "metrics_address",
        &state
            .settings
            .metrics_addr
            .map(|address| format!("http://{address}/metrics")),
    );
    page.render("admin/status.html", StatusCode::OK, context)
}

/// The last hour, minute by minute, and the current minute so far.
#[derive(Serialize)]
struct StatusJson {
    points: Vec<Point>,
    /// Connections the pool may open.
    pool_size: u32,
    unresolved_errors: Option<i64>,
}

/// `GET /admin/status.json`, for the page's script.
#[tracing::instrument(name = "Status data", skip_all)]
pub async fn status_json(page: Page, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    page.require_admin()?;
    let live = state.metrics.live();
    let points = state.metrics.history.points(live.as_ref());
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(StatusJson {
            points,
            pool_size: live.map_or(0, |live| live.pool_size),
            unresolved_errors: state.error_reporter.unresolved(),
        }))
}
