//! The two layers every request passes through, whatever route it reaches (one of ours, one a
//! fork adds the way actix's documentation shows, the default service or a static file):
//!
//! - [`CatchPanics`], outside everything but tracing: a panicking handler (or middleware)
//!   becomes our 500 page instead of a dropped connection, and the server keeps serving; so
//!   does a failure that comes with no response at all (a session too large to save).
//! - [`render_error_pages`]: every error response (a handler's `AppError`, or actix's own 404,
//!   405, 413, 400…) gets our page or problem document, and is logged once.

use std::future::{ready, Future, Ready};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use futures_util::FutureExt;

use super::pages::{error_response, FailedRequest};
use super::panics::{into_app_error, while_handling_request};
use super::problem::wants_json;
use super::redact;
use super::AppError;
use crate::web::login::current_user;
use crate::web::request::{RequestScope, RequestStart};
use crate::web::security_headers::security_headers;

/// Middleware: answers every error response with our page or problem document.
pub async fn render_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    if !needs_our_page(&response) {
        return Ok(response);
    }
    let (req, res) = response.into_parts();
    let app_error = res.error().and_then(|e| e.as_error::<AppError>());
    if shows_navigation(&req, res.status(), app_error) {
        // The page's navigation shows who is logged in, even when no handler ran (a 404 or a
        // 405). Not for refusals that must cost nothing (a forged form, a flood).
        let _ = current_user(&req).await;
    }
    let failed = FailedRequest::of(&req);
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR {
        // The report and the mail name the user, even when the handler failed before asking.
        failed.load_user().await;
    }
    let page = error_response(&failed, res.status(), res.error(), app_error, res.headers());
    Ok(ServiceResponse::new(req, page))
}

/// Whether the error page will be HTML with the site's navigation, and the user is worth
/// loading for it.
fn shows_navigation(req: &HttpRequest, status: StatusCode, app_error: Option<&AppError>) -> bool {
    let cheap_refusal = matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
    ) || matches!(app_error, Some(AppError::CsrfRejected));
    status.is_client_error()
        && !cheap_refusal
        && RequestScope::of(req).loaded_user().is_none()
        && !wants_json(req.path(), req.headers())
}

/// An error status whose body is not already one of ours: actix's plain-text errors, empty
/// bodies, and every `AppError` (whose own `error_response` is deliberately bare).
fn needs_our_page(response: &ServiceResponse<BoxBody>) -> bool {
    use actix_web::body::BodySize;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let empty = matches!(
        response.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    is_error && (response.response().error().is_some() || empty)
}

/// Middleware, registered outside the session middleware and everything it wraps: a panic in
/// any handler or middleware becomes our 500 page, and so does an error that reaches it without
/// a response (actix-session's, when a session cannot be saved).
///
/// actix drops a panicking request, and its router needs to own the request alone while it
/// routes, so no clone of the request can be kept across the call. What the page needs is kept
/// instead ([`FailedRequest`]: a few cheap clones and the request's shared scope and session),
/// and the page travels out as a [`RenderedError`], which the outer layers pass on as it is.
pub struct CatchPanics;

impl<S, B> Transform<S, ServiceRequest> for CatchPanics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CatchPanicsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CatchPanicsService {
            service: Rc::new(service),
        }))
    }
}

/// The service [`CatchPanics`] makes.
pub struct CatchPanicsService<S> {
    service: Rc<S>,
}

type Outcome<B> = Result<ServiceResponse<B>, actix_web::Error>;

impl<S, B> Service<ServiceRequest> for CatchPanicsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Outcome<B>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let failed = FailedRequest::of(req.request());
        let service = self.service.clone();
        let call = while_handling_request(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| service.call(req)))
        });
        Box::pin(async move {
            let future = match call {
                Ok(future) => future,
                Err(panic) => {
                    failed.load_user().await;
                    return Err(panic_page(&failed, panic));
                }
            };
            let mut handled = std::pin::pin!(AssertUnwindSafe(future).catch_unwind());
            let outcome =
                std::future::poll_fn(|cx| while_handling_request(|| handled.as_mut().poll(cx)))
                    .await;
            match outcome {
                Err(panic) => {
                    failed.load_user().await;
                    Err(panic_page(&failed, panic))
                }
                Ok(Err(error)) if error.as_error::<RenderedError>().is_none() => {
                    Err(failure_page(&failed, error))
                }
                Ok(result) => result,
            }
        })
    }
}

/// Our 500 page for a caught panic, logged and mailed like any other 500.
fn panic_page(failed: &FailedRequest, panic: Box<dyn std::any::Any + Send>) -> actix_web::Error {
    let error = into_app_error(panic);
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    let page = error_response(failed, status, None, Some(&error), &HeaderMap::new());
    RenderedError::new(page, failed).into()
}

/// Our 500 page for an error that came without a response, logged and mailed once.
fn failure_page(failed: &FailedRequest, error: actix_web::Error) -> actix_web::Error {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    let page = error_response(failed, status, Some(&error), None, &HeaderMap::new());
    RenderedError::new(page, failed).into()
}

/// A finished error page carried as an error: the way out for a response that has no request
/// left to go with it. Its `error_response` rebuilds the same page each time it is asked.
#[derive(Debug)]
pub struct RenderedError {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    /// For the access line, which has no request to read them from either.
    pub method: Method,
    pub path: String,
    pub client: String,
    pub started: Option<RequestStart>,
    /// Whether the connection closes after it (the process is draining).
    close: bool,
}

impl RenderedError {
    fn new(page: HttpResponse, failed: &FailedRequest) -> Self {
        let request_id = failed.id.as_str();
        let status = page.status();
        let mut headers: Vec<(HeaderName, HeaderValue)> = page
            .headers()
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        // The outer layers that add X-Request-Id and the security headers only see
        // responses, not errors.
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.push((HeaderName::from_static("x-request-id"), id));
        }
        for (name, value) in security_headers(failed.https()) {
            headers.push((
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        }
        let body = page.into_body().try_into_bytes().unwrap_or_default();
        RenderedError {
            status,
            headers,
            body,
            method: failed.method.clone(),
            path: redact::url_text(failed.uri.path()),
            client: failed.client.map(|ip| ip.to_string()).unwrap_or_default(),
            started: failed.started,
            close: failed.draining(),
        }
    }
}

impl std::fmt::Display for RenderedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "A failure answered with our {} page; already logged",
            self.status
        )
    }
}

impl ResponseError for RenderedError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        for header in &self.headers {
            response.insert_header(header.clone());
        }
        let mut response = response.body(self.body.clone());
        if self.close {
            response
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        response
    }
}
