//! Logging: the tracing subscriber, the root span of each request (with its id, route, status,
//! latency and user), the access line, and the `X-Request-Id` header.
//!
//! Every event becomes one line (`format.rs`), written off the request path by
//! tracing-appender's writer threads to the console, `LOG_DIR/microblog.log` and, for errors,
//! `LOG_DIR/errors.log` (and, with LOG_SPLIT_LEVELS=1, one file per level), all rotated by size
//! like Python's `RotatingFileHandler` (`rotating_file.rs`).

mod format;
mod line;
mod rotating_file;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::{Level, Span, Subscriber};
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogSettings;
use crate::errors::middleware::RenderedError;
use crate::web::client::client_ip;
use crate::web::request::RequestStart;
use crate::web::state::AppState;
use format::{LineFormat, NoSpanFields, RequestFields};
use rotating_file::RotatingFile;

/// Keeps the writer threads alive; dropping it writes every pending line and stops them.
pub struct TelemetryGuard {
    _writers: Vec<WorkerGuard>,
}

/// Lines waiting for a log file before loggers have to wait: nothing is dropped from the files
/// (`lossy(false)`); when the disk cannot keep up, the code that logs waits for room.
const FILE_QUEUE_LINES: usize = 16 * 1024;
/// Lines waiting for the console before they are dropped: a stdout nobody reads must never
/// stop the site.
const CONSOLE_QUEUE_LINES: usize = 4 * 1024;

/// Installs the global subscriber at LOG_LEVEL. If LOG_DIR cannot be used, the site still
/// starts, logging to the console only, and says why once.
pub fn init(log: &LogSettings) -> TelemetryGuard {
    let filter = EnvFilter::builder()
        .parse(&log.level)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let mut guards = Vec::new();
    // LOG_TO_STDOUT=1: stdout is the log, so it loses nothing and follows LOG_FORMAT.
    let (console, guard) = NonBlockingBuilder::default()
        .lossy(!log.to_stdout)
        .buffered_lines_limit(if log.to_stdout {
            FILE_QUEUE_LINES
        } else {
            CONSOLE_QUEUE_LINES
        })
        .thread_name("log-console")
        .finish(std::io::stdout());
    guards.push(guard);
    let format = if log.to_stdout {
        LineFormat::file(log.format)
    } else {
        LineFormat::console(log.readable_console)
    };
    let console = tracing_subscriber::fmt::layer()
        .fmt_fields(NoSpanFields)
        .event_format(format)
        .with_writer(console);
    let (files, problem) = if log.to_stdout {
        (None, None)
    } else {
        match file_layers(log, &mut guards) {
            Ok(layers) => (Some(layers), None),
            Err(e) => (
                None,
                Some(format!(
                    "LOG_DIR={:?} cannot be used ({e})",
                    log.dir.display().to_string()
                )),
            ),
        }
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(RequestFields)
        .with(console)
        .with(files)
        .try_init()
        .is_ok();
    if let (true, Some(problem)) = (installed, problem) {
        tracing::warn!("Log files are off: {problem}; logging to the console only");
    }
    TelemetryGuard { _writers: guards }
}

/// The layers of the log files: `microblog.log` (every line), `errors.log` (ERROR lines) and,
/// with LOG_SPLIT_LEVELS=1, `info.log`, `warning.log` and `error.log` (each exactly its level).
fn file_layers<S>(
    log: &LogSettings,
    guards: &mut Vec<WorkerGuard>,
) -> std::io::Result<Vec<Box<dyn Layer<S> + Send + Sync>>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    std::fs::create_dir_all(&log.dir)?;
    let mut files = vec![("microblog.log", None), ("errors.log", Some(Level::ERROR))];
    if log.split_levels {
        files.extend([
            ("info.log", Some(Level::INFO)),
            ("warning.log", Some(Level::WARN)),
            ("error.log", Some(Level::ERROR)),
        ]);
    }
    let mut layers = Vec::new();
    for (name, level) in files {
        let file = RotatingFile::open(&log.dir.join(name), log.max_bytes, log.backup_count)?;
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(FILE_QUEUE_LINES)
            .thread_name(&format!("log-{name}"))
            .finish(file);
        guards.push(guard);
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(NoSpanFields)
            .event_format(LineFormat::file(log.format))
            .with_writer(writer);
        layers.push(match level {
            None => layer.boxed(),
            // Spans stay visible to the layer, so its lines still find their request id. The
            // ERROR files take the application's own errors only: the HTTP layer's complaints
            // about malformed requests (actix's dispatcher) are one per request a stranger
            // sends, and would push the real errors out of the rotated files.
            Some(level) => layer
                .with_filter(filter_fn(move |metadata| {
                    metadata.is_span()
                        || (*metadata.level() == level
                            && (level != Level::ERROR || is_own(metadata.target())))
                }))
                .boxed(),
        });
    }
    Ok(layers)
}

/// This crate's name, the first part of every tracing target in it. From the compiler, so a
/// fork that renames the crate keeps its ERROR lines in errors.log.
const OWN_CRATE: &str = env!("CARGO_CRATE_NAME");

/// Whether an event's target is in this crate (not a dependency's).
fn is_own(target: &str) -> bool {
    target
        .strip_prefix(OWN_CRATE)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
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
                // X-Forwarded-For only from TRUSTED_PROXIES: a client writes whatever it likes.
                let trusted = request
                    .app_data::<actix_web::web::Data<AppState>>()
                    .map(|state| state.settings.trusted_proxies.clone())
                    .unwrap_or_default();
                let client = client_ip(request, &trusted).map(|ip| ip.to_string());
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

#[cfg(test)]
mod tests {
    use super::is_own;

    #[test]
    fn errors_log_keeps_this_crates_errors_whatever_it_is_called() {
        assert!(is_own(module_path!()));
        assert!(is_own(env!("CARGO_CRATE_NAME")));
        assert!(!is_own("actix_http::h1::dispatcher"));
        assert!(!is_own(&format!("{}_helper::x", env!("CARGO_CRATE_NAME"))));
    }
}
