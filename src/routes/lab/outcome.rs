//! The page an experiment ends on when it does not end in an error page of the site.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use tera::Context;

use crate::errors::AppError;
use crate::web::page::Page;

/// The lab's own page for experiments that do not end in an error: what happened, the request
/// id, and a link to what it left in the logs.
pub(super) fn result(
    page: &Page,
    experiment: &str,
    message: &str,
    extra: Option<Context>,
) -> Result<HttpResponse, AppError> {
    result_with_status(page, experiment, message, extra, StatusCode::OK)
}

/// [`result`], answered with `status`: what the real route would have answered.
pub(super) fn result_with_status(
    page: &Page,
    experiment: &str,
    message: &str,
    extra: Option<Context>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut context = extra.unwrap_or_default();
    context.insert("title", &format!("Lab: {experiment}"));
    context.insert("experiment", experiment);
    context.insert("message", message);
    context.insert("this_request_id", &page.request_id());
    page.render("lab/result.html", status, context)
}
