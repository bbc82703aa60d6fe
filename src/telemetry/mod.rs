//! Logging: the tracing subscriber, the root span of each request (with its id, route, status,
//! latency and user), the access line, and the `X-Request-Id` header.
//!
//! Every event becomes one line (`lines.rs`), written off the request path by one thread
//! (`writer.rs`) to the console, `LOG_DIR/microblog.log` and, for errors, `LOG_DIR/errors.log`,
//! both rotated by size (`rotating_file.rs`).

mod lines;
mod rotating_file;
mod writer;

use std::any::Any;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;
use crate::errors::middleware::RenderedError;
use crate::web::request::RequestStart;
use lines::LineLayer;
use writer::LogWriter;

/// Keeps the writer thread alive; dropping it writes every pending line and stops the thread.
pub struct TelemetryGuard {
    _writer: LogWriter,
}

/// Installs the global subscriber at LOG_LEVEL. If LOG_DIR cannot be used, the site still
/// starts, logging to the console only, and says why once.
pub fn init(log: &LogSettings) -> TelemetryGuard {
    let filter = EnvFilter::builder()
        .parse(&log.level)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, problem) = LogWriter::start(log);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(LineLayer::new(log.format, writer.sender()))
        .try_init()
        .is_ok();
    if let (true, Some(problem)) = (installed, problem) {
        tracing::warn!("Log files are off: {problem}; logging to the console only");
    }
    TelemetryGuard { _writer: writer }
}

/// The root span of every request: tracing-actix-web's fields plus the user id, and one access
/// line when the request ends.
pub struct MicroblogRootSpan;

impl RootSpanBuilder for MicroblogRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request
            .extensions_mut()
            .insert(RequestStart(Instant::now()));
        tracing_actix_web::root_span!(request, user_id = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        match outcome {
            Ok(response) => {
                let request = response.request();
                let started = request.extensions().get::<RequestStart>().copied();
                let route = request
                    .match_pattern()
                    .unwrap_or_else(|| "(none)".to_string());
                // The socket's address: X-Forwarded-For is whatever the client wants it to be.
                let client = request.peer_addr().map(|a| a.ip().to_string());
                let access = AccessLine {
                    method: request.method().as_str(),
                    route: &route,
                    status: response.status().as_u16(),
                    started,
                    client: client.as_deref().unwrap_or_default(),
                };
                span.in_scope(|| access.log());
            }
            // A panic's page, which travels without its request (errors/middleware.rs).
            Err(error) => {
                if let Some(page) = error.as_error::<RenderedError>() {
                    let access = AccessLine {
                        method: page.method.as_str(),
                        route: &page.path,
                        status: actix_web::ResponseError::status_code(page).as_u16(),
                        started: page.started,
                        client: &page.client,
                    };
                    span.in_scope(|| access.log());
                }
            }
        }
    }
}

/// The one line written when a request ends.
struct AccessLine<'a> {
    method: &'a str,
    route: &'a str,
    status: u16,
    started: Option<RequestStart>,
    client: &'a str,
}

impl AccessLine<'_> {
    fn log(&self) {
        let latency_ms = self
            .started
            .map(|start| start.0.elapsed().as_secs_f64() * 1000.0)
            .unwrap_or_default();
        tracing::info!(
            method = self.method,
            route = self.route,
            status = self.status,
            latency_ms = format!("{latency_ms:.2}"),
            client = self.client,
            "Request completed"
        );
    }
}

/// Middleware: copies the request id tracing-actix-web made into an `X-Request-Id` header.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req.extensions().get::<RequestId>().copied();
    let mut response = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// Disables Nagle's algorithm on each accepted socket: without it a keep-alive client waits
/// ~40 ms on some responses (Nagle and delayed ACK together).
pub fn set_nodelay(connection: &dyn Any, _: &mut Extensions) {
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        let _ = stream.set_nodelay(true);
    }
}
