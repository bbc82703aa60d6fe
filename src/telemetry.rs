//! Logging: the tracing subscriber, the root span of each request (with its id, route, status,
//! latency and user), the access line, and the `X-Request-Id` header.

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
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogSettings;

/// Installs the global subscriber: human-readable lines on the console at LOG_LEVEL.
/// Returns false if a subscriber was already installed (as happens when tests build many apps).
pub fn init(log: &LogSettings) -> bool {
    let filter = EnvFilter::builder()
        .parse(&log.level)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_target(true))
        .try_init()
        .is_ok()
}

/// When the request started, to measure its latency.
struct RequestStart(Instant);

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
        if let Ok(response) = outcome {
            let latency_ms = response
                .request()
                .extensions()
                .get::<RequestStart>()
                .map(|start| start.0.elapsed().as_secs_f64() * 1000.0)
                .unwrap_or_default();
            let status = response.status().as_u16();
            span.in_scope(|| {
                tracing::info!(
                    status,
                    latency_ms = format!("{latency_ms:.2}"),
                    "Request completed"
                );
            });
        }
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
