//! Every failed request ends here: our own HTML page (templates/errors/) or, for JSON clients,
//! an RFC 9457 problem document; and each failure is logged exactly once, here, at the boundary.
//!
//! Errors reach it in three ways, all through `middleware.rs`: a handler's `AppError`, an error
//! made by actix itself (no route, wrong method, a body or path that cannot be parsed), or a
//! panic.

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub use super::failed_request::FailedRequest;
use super::field_errors::FormErrors;
use super::problem::{problem_document, user_message, wants_json};
use super::redact;
use super::report::ErrorReport;
use super::AppError;
use crate::tracking::fingerprint::group_id;
use crate::web::page::base_context;

fn field_errors(app_error: Option<&AppError>) -> Option<&FormErrors> {
    match app_error {
        Some(AppError::Invalid(errors)) => Some(errors),
        _ => None,
    }
}

/// Builds the page or problem document for `status`, and logs (and mails) the error once.
pub fn error_response(
    request: &FailedRequest,
    status: StatusCode,
    error: Option<&actix_web::Error>,
    app_error: Option<&AppError>,
    original_headers: &HeaderMap,
) -> HttpResponse {
    log_error(request, status, error, app_error);
    let detail = user_message(status, app_error);
    let report = status
        .is_server_error()
        .then(|| request.report(app_error, &fallback_chain(status, error)));
    let state = request.state();
    if let (Some(report), Some(state)) = (&report, state) {
        match app_error {
            // The database that counts repeats is the one that is down: mailed at once, and
            // only by the first request of the outage.
            Some(AppError::DatabaseDown {
                starts_outage: true,
                ..
            }) => state.error_reporter.report_outage(report.clone()),
            // Only a 500 is a bug to mail about; other 503s are the database being busy,
            // already logged.
            _ if status == StatusCode::INTERNAL_SERVER_ERROR => {
                state.error_reporter.report(report.clone())
            }
            _ => {}
        }
    }
    let debug = state.is_some_and(|state| state.settings.debug);
    let challenge = original_headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok());
    let mut response = match (wants_json(request.path(), &request.headers), debug, &report) {
        (true, _, _) => problem_document(status, &detail, &request.id, field_errors(app_error)),
        (false, true, Some(report)) => debug_page(request, status, report),
        _ => html_page(request, status, &detail, app_error, challenge),
    };
    if status == StatusCode::REQUEST_TIMEOUT {
        // A client that cannot send its request in time does not get to keep the connection.
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = original_headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn log_error(
    request: &FailedRequest,
    status: StatusCode,
    error: Option<&actix_web::Error>,
    app_error: Option<&AppError>,
) {
    let path = redact::url_text(request.path());
    let path = path.as_str();
    if let Some(AppError::TooManyRequests { .. }) = app_error {
        // The limit logs one WARN line per burst; a line per refusal would let a flood fill
        // the log.
        return;
    }
    if let Some(AppError::Overloaded(what)) = app_error {
        tracing::warn!(
            status = status.as_u16(),
            path,
            reason = what,
            "Request refused: overloaded"
        );
        return;
    }
    if let Some(AppError::DatabaseDown { starts_outage, .. }) = app_error {
        // One ERROR line per outage (`db/outage.rs`); the other refused requests show in their
        // "Request completed" line with status 503.
        if *starts_outage {
            tracing::error!(
                status = status.as_u16(),
                path,
                error.chain = ?app_error,
                "The database is unavailable: requests get 503 until it answers again"
            );
        }
        return;
    }
    if status.is_server_error() {
        // `{:?}` of an AppError prints the whole "Caused by:" chain.
        let chain = match (app_error, error) {
            (Some(app_error), _) => format!("{app_error:?}"),
            (None, Some(error)) => format!("{error:?}"),
            (None, None) => status.to_string(),
        };
        tracing::error!(status = status.as_u16(), path, error.chain = %chain, "Request failed");
    } else if let Some(AppError::MissingFile { file }) = app_error {
        tracing::warn!(status = status.as_u16(), path, file = %file, "A file was not found");
    } else {
        let reason = app_error
            .map(ToString::to_string)
            .or_else(|| error.map(ToString::to_string))
            .unwrap_or_else(|| status.to_string());
        tracing::info!(status = status.as_u16(), path, reason = %reason, "Request refused");
    }
}

/// The chain to show for an error that is not an `AppError` (one made by actix).
fn fallback_chain(status: StatusCode, error: Option<&actix_web::Error>) -> String {
    error
        .map(|error| format!("{error:?}"))
        .unwrap_or_else(|| status.to_string())
}

fn html_page(
    request: &FailedRequest,
    status: StatusCode,
    detail: &str,
    app_error: Option<&AppError>,
    challenge: Option<&str>,
) -> HttpResponse {
    let template = match status {
        StatusCode::NOT_FOUND => "errors/404.html",
        StatusCode::INTERNAL_SERVER_ERROR => "errors/500.html",
        _ => "errors/error.html",
    };
    let mut context = error_context(request, status);
    context.insert("detail", detail);
    // The 404 page names what was missing when the handler said (otherwise, the path).
    context.insert("missing", &matches!(app_error, Some(AppError::Missing(_))));
    // For 401 and 403: how to authenticate (the lab's token experiments show it).
    context.insert("www_authenticate", &challenge);
    render(request, status, template, &context)
}

/// DEBUG=1 only: the whole report, every value escaped by the template.
fn debug_page(request: &FailedRequest, status: StatusCode, report: &ErrorReport) -> HttpResponse {
    let mut context = error_context(request, status);
    context.insert("report", report);
    // Known before the error is counted: the group's id is its fingerprint's digest.
    context.insert("group_id", &group_id(&report.place));
    render(request, status, "errors/debug.html", &context)
}

fn error_context(request: &FailedRequest, status: StatusCode) -> tera::Context {
    let user = request.scope.user();
    let mut context = base_context(
        &request.session,
        &request.id,
        request.state(),
        user.as_ref(),
    );
    context.insert("status", &status.as_u16());
    context.insert("title", status.canonical_reason().unwrap_or("Error"));
    context.insert("path", request.path());
    context
}

fn render(
    request: &FailedRequest,
    status: StatusCode,
    template: &str,
    context: &tera::Context,
) -> HttpResponse {
    let rendered = match request.state() {
        Some(state) => state.templates.render(template, context),
        None => Err(AppError::unexpected(anyhow::anyhow!(
            "AppState is not registered"
        ))),
    };
    let html = match rendered {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(error.chain = ?error, template, "The error page could not be rendered");
            fallback_page(status, &request.id)
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// The page served when an error template itself fails: fixed text, the status and the request
/// id (a UUID, so nothing here needs escaping).
fn fallback_page(status: StatusCode, request_id: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\
         <body><h1>{code} {reason}</h1><p>Sorry, something went wrong.</p>\
         <p>Error id: <code>{request_id}</code></p><p><a href=\"/\">Back to the home page</a></p></body></html>",
        code = status.as_u16(),
        reason = status.canonical_reason().unwrap_or("Error"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_page_is_never_blank_and_carries_the_error_id() {
        let page = fallback_page(StatusCode::INTERNAL_SERVER_ERROR, "3f2c-id");
        assert!(page.contains("<h1>500 Internal Server Error</h1>"));
        assert!(page.contains("Error id: <code>3f2c-id</code>"));
        assert!(page.contains("href=\"/\""), "a way back home");
    }
}
