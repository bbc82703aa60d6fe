//! Every failed request ends here: our own HTML page (templates/errors/) or, for JSON clients,
//! an RFC 9457 problem document.
//!
//! Errors reach it in three ways: a handler's `AppError`, an error made by actix itself (no route,
//! wrong method, a body or path that cannot be parsed), or a panic caught by `panics.rs`. Each is
//! logged exactly once, here, at the boundary.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error_report::ErrorReport;
use crate::errors::AppError;
use crate::page::{base_context, request_id};
use crate::session::{already_loaded_user, app_state};

/// Middleware: answers every error response with our page or problem document.
pub async fn render_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // No clone of the request may be held while `next.call` routes it: actix needs to own it
    // alone then. That is why panics are caught per resource, in `panics.rs`.
    let response = next.call(req).await?.map_into_boxed_body();
    if !needs_our_page(&response) {
        return Ok(response);
    }
    let (req, res) = response.into_parts();
    let page = error_response(&req, res.status(), res.error(), res.headers());
    Ok(ServiceResponse::new(req, page))
}

/// An error status whose body is not already one of ours: actix's plain-text errors, empty
/// bodies, and every `AppError` (whose own `error_response` is deliberately bare).
fn needs_our_page(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let empty = matches!(
        response.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    is_error && (response.response().error().is_some() || empty)
}

/// Builds the page or problem document for `status`, and logs the error once.
pub fn error_response(
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&actix_web::Error>,
    original_headers: &header::HeaderMap,
) -> HttpResponse {
    let app_error = error.and_then(|e| e.as_error::<AppError>());
    log_error(req, status, error, app_error);
    let detail = user_message(status, app_error);
    let state = app_state(req).ok();
    let report = status
        .is_server_error()
        .then(|| ErrorReport::from_request(req, app_error, &fallback_chain(status, error)));
    // Only a 500 is a bug to mail about; a 503 is the database being busy, already logged.
    if let (Some(report), Some(state), StatusCode::INTERNAL_SERVER_ERROR) = (&report, state, status)
    {
        state.error_reporter.report(report.clone());
    }
    let debug = state.map(|state| state.settings.debug).unwrap_or(false);
    let mut response = match (wants_json(req), debug, &report) {
        (true, _, _) => problem_document(req, status, &detail),
        (false, true, Some(report)) => debug_page(req, status, report),
        _ => html_page(req, status, &detail),
    };
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = original_headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn log_error(
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&actix_web::Error>,
    app_error: Option<&AppError>,
) {
    let path = crate::redact::path(req);
    let path = path.as_str();
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

/// What a user may read about the failure: never an internal detail.
fn user_message(status: StatusCode, app_error: Option<&AppError>) -> String {
    match app_error {
        Some(error @ (AppError::Unexpected(_) | AppError::Unavailable(_))) => error.to_string(),
        _ if status.is_server_error() => match status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                "The service is busy or temporarily unavailable. Please try again in a moment."
            }
            _ => "An unexpected error has occurred.",
        }
        .to_string(),
        Some(error) => error.to_string(),
        None => match status {
            StatusCode::BAD_REQUEST => "The request could not be understood.",
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "You are not allowed to do that.",
            StatusCode::NOT_FOUND => "The page you asked for does not exist.",
            StatusCode::METHOD_NOT_ALLOWED => "That method is not allowed here.",
            StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "That kind of content is not accepted here.",
            StatusCode::TOO_MANY_REQUESTS => {
                "Too many requests. Please slow down and try again in a moment."
            }
            _ => "The request could not be completed.",
        }
        .to_string(),
    }
}

/// Whether the client asked for JSON: a path under /api/, or an Accept header that ranks
/// JSON above HTML.
pub fn wants_json(req: &HttpRequest) -> bool {
    if req.path().starts_with("/api/") {
        return true;
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let quality = |wanted: &dyn Fn(&str) -> bool| {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .find_map(|p| p.strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                wanted(&media).then_some(q)
            })
            .fold(0.0f32, f32::max)
    };
    let json = quality(&|m| m == "application/json" || m == "application/problem+json");
    let html = quality(&|m| m == "text/html" || m == "application/xhtml+xml");
    json > 0.0 && json > html
}

/// RFC 9457 problem details.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    request_id: String,
}

fn problem_document(req: &HttpRequest, status: StatusCode, detail: &str) -> HttpResponse {
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        request_id: request_id(req),
    };
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ))
        .json(problem)
}

/// The chain to show for an error that is not an `AppError` (one made by actix).
fn fallback_chain(status: StatusCode, error: Option<&actix_web::Error>) -> String {
    error
        .map(|error| format!("{error:?}"))
        .unwrap_or_else(|| status.to_string())
}

fn html_page(req: &HttpRequest, status: StatusCode, detail: &str) -> HttpResponse {
    let template = match status {
        StatusCode::NOT_FOUND => "errors/404.html",
        StatusCode::INTERNAL_SERVER_ERROR => "errors/500.html",
        _ => "errors/error.html",
    };
    let mut context = error_context(req, status);
    context.insert("detail", detail);
    render(req, status, template, &context)
}

/// DEBUG=1 only: the whole report, every value escaped by the template.
fn debug_page(req: &HttpRequest, status: StatusCode, report: &ErrorReport) -> HttpResponse {
    let mut context = error_context(req, status);
    context.insert("report", report);
    context.insert("text", &report.to_text());
    render(req, status, "errors/debug.html", &context)
}

fn error_context(req: &HttpRequest, status: StatusCode) -> tera::Context {
    let user = already_loaded_user(req);
    let mut context = base_context(req, user.as_ref());
    context.insert("status", &status.as_u16());
    context.insert("title", status.canonical_reason().unwrap_or("Error"));
    context.insert("path", req.path());
    context
}

fn render(
    req: &HttpRequest,
    status: StatusCode,
    template: &str,
    context: &tera::Context,
) -> HttpResponse {
    let rendered = app_state(req).and_then(|state| state.templates.render(template, context));
    let html = match rendered {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(error.chain = ?error, template, "The error page could not be rendered");
            fallback_page(status, &request_id(req))
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
    use actix_web::test::TestRequest;

    fn accept(value: &str) -> bool {
        wants_json(
            &TestRequest::default()
                .insert_header(("Accept", value))
                .to_http_request(),
        )
    }

    #[test]
    fn the_fallback_page_is_never_blank_and_carries_the_error_id() {
        let page = fallback_page(StatusCode::INTERNAL_SERVER_ERROR, "3f2c-id");
        assert!(page.contains("<h1>500 Internal Server Error</h1>"));
        assert!(page.contains("Error id: <code>3f2c-id</code>"));
        assert!(page.contains("href=\"/\""), "a way back home");
    }

    #[test]
    fn json_is_chosen_only_when_preferred_over_html() {
        assert!(accept("application/json"));
        assert!(accept("application/problem+json, */*;q=0.1"));
        assert!(!accept(
            "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("*/*"));
        assert!(wants_json(
            &TestRequest::with_uri("/api/x").to_http_request()
        ));
    }
}
