//! Routes that fail on purpose, added to the app the way a fork adds routes
//! (`Application::build_with_routes`), so the tests of error handling need nothing of the lab: a
//! fork that removes the lab keeps them.

use actix_web::{web, HttpResponse};
use microblog::errors::AppError;

use crate::helpers::{spawn_app_with_routes, TestApp};

/// `POST /test/panic` panics; `POST /test/error` fails with an unexpected error of another kind;
/// `POST /test/missing/{id}` fails from one place with a message that names the id. None asks
/// who is logged in, as a fork's handler may not: the report names the user anyway.
pub fn failing_routes(config: &mut web::ServiceConfig) {
    config
        .route("/test/panic", web::post().to(panics))
        .route("/test/error", web::post().to(fails))
        .route("/test/missing/{id}", web::post().to(missing));
}

async fn missing(id: web::Path<i32>) -> Result<HttpResponse, AppError> {
    Err(AppError::unexpected(anyhow::anyhow!("no user {id}")))
}

async fn panics() -> HttpResponse {
    panic!("a test's own failure: a value that was never there")
}

async fn fails() -> Result<HttpResponse, AppError> {
    Err(AppError::unexpected(anyhow::anyhow!(
        "a test's own failure of another kind"
    )))
}

/// Spawns the app with [`failing_routes`] and some settings changed.
pub async fn spawn_failing_app(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_with_routes(overrides, failing_routes).await
}
