//! Builds the application: shared state, the order of the middleware, and the server. The
//! route table is `routes::configure`.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_files::Files;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::connection::{self, open_files_and_connections, ConnectionSettings};
use crate::db;
use crate::errors::middleware::{render_error_pages, CatchPanics};
use crate::errors::panics;
use crate::mail::MailSetupError;
use crate::metrics::middleware::record_request;
use crate::metrics::watch::watch_live_values;
use crate::metrics::{listener, Metrics};
use crate::routes;
use crate::telemetry::{request_id_header, MicroblogRootSpan};
use crate::templates::Templates;
use crate::tokens::derive_key;
use crate::web::body::read_body_in_time;
use crate::web::control_characters::refuse_control_characters;
use crate::web::csrf::check_csrf;
use crate::web::draining::close_when_draining;
use crate::web::forms::form_config;
use crate::web::head::head_as_get;
use crate::web::hosts::check_host;
use crate::web::security_headers::default_headers;
use crate::web::session_keys::{reseal_old_session_cookie, SessionKeys, SESSION_COOKIE};
use crate::web::state::AppState;

/// Largest request body accepted (forms are small; more is answered with 413).
const BODY_LIMIT: usize = 64 * 1024;
/// How long `/readyz` answers 503 before the listener closes, on SIGTERM.
const READINESS_NOTICE: Duration = Duration::from_secs(2);

/// Why the application could not start. Each message is one line naming what to change.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DatabaseSetupError),
    #[error("templates/: a template could not be compiled ({0})")]
    Templates(String),
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    #[error("HOST/PORT: cannot listen on {address} ({source})")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("METRICS_ADDR: cannot listen on {address} ({source}); set another host:port, or off")]
    MetricsBind {
        address: String,
        source: std::io::Error,
    },
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    /// `GET /metrics` on METRICS_ADDR, and the address it got.
    metrics_server: Option<(Server, std::net::SocketAddr)>,
    state: web::Data<AppState>,
    mail: String,
    open_files: String,
}

/// The keys that seal session cookies: the current one, and SECRET_KEY_FALLBACKS' for cookies
/// sealed before a rotation.
fn session_keys(settings: &Settings) -> SessionKeys {
    SessionKeys {
        current: Key::from(&derive_key(settings.secret_key.expose(), "session")),
        fallbacks: settings
            .secret_key_fallbacks
            .iter()
            .map(|key| Key::from(&derive_key(key.expose(), "session")))
            .collect(),
        secure: settings.session_cookie_secure,
    }
}

impl Application {
    /// Opens and migrates the database, compiles the templates, binds the listener (port 0
    /// picks a free port, as the tests do) and builds the server.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_routes(settings, |_| {}).await
    }

    /// [`Application::build`], with `more_routes` added to the route table: routes registered
    /// there, the plain actix way, get every protection the site's own routes get. (The tests
    /// use it to prove that.)
    pub async fn build_with_routes(
        settings: Settings,
        more_routes: fn(&mut web::ServiceConfig),
    ) -> Result<Self, StartupError> {
        let metrics = Metrics::new();
        let pool = db::connect(
            &settings.database_url,
            settings.database_pool_size,
            settings.database_timeout(),
        )?
        .observed_by(db::PoolMetrics {
            wait: Some(metrics.pool_wait.clone()),
            timeouts: metrics.pool_timeouts.clone(),
        });
        db::keep_wal_small(&pool, &settings.database_url);
        let templates = Templates::load("templates", settings.debug)
            .map_err(|e| StartupError::Templates(format!("{e:?}").replace('\n', " ")))?;
        let templates = Arc::new(templates);
        let address = settings.address();
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        panics::install_hook();

        let secure_cookies = settings.session_cookie_secure;
        let lab_enabled = settings.error_lab;
        let request_timeout = settings.request_timeout();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (open_files, connections_per_worker) = open_files_and_connections(workers);
        let session_keys = web::Data::new(session_keys(&settings));
        let session_key = session_keys.current.clone();
        let metrics_server = match settings.metrics_addr {
            Some(address) => Some(listener::serve(address, metrics.clone()).map_err(|source| {
                StartupError::MetricsBind {
                    address: address.to_string(),
                    source,
                }
            })?),
            None => None,
        };
        let state = web::Data::new(AppState::new(settings, pool, templates, metrics)?);
        watch_live_values(&state);
        let mail = state.mailer.description.clone();

        let state_for_shutdown = state.clone();
        let shutdown_timeout = state.settings.shutdown_timeout_seconds;
        let connections = ConnectionSettings {
            workers,
            connections_per_worker,
            request_timeout,
            keep_alive: Duration::from_secs(5),
            shutdown_timeout_seconds: shutdown_timeout,
        };
        // A request head must arrive within REQUEST_TIMEOUT (actix answers a bare 408: there is
        // no request to render a page for yet), and so must a body (`web/body.rs`); idle
        // keep-alive connections close after 5 s, and each worker holds at most as many
        // connections as the open-files limit allows; the rest wait in the listen backlog.
        // Signals are ours (`run_until_stopped`): /readyz must say 503 before actix stops.
        let server = connection::serve(listener, connections, move || {
            let sessions =
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    .cookie_name(SESSION_COOKIE.to_string())
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_secure(secure_cookies)
                    .build();
            // The last `wrap` is the outermost. Tracing sees everything and every response gets
            // the security headers. Panics, and failures that come without a response (a
            // session that cannot be saved), become our 500 page outside everything else; error
            // pages see the session (for the navigation); a foreign Host is refused, control
            // characters refused and CSRF checked, before routing, so before any handler.
            App::new()
                .wrap(from_fn(head_as_get))
                .wrap(from_fn(check_csrf))
                .wrap(from_fn(refuse_control_characters))
                .wrap(from_fn(read_body_in_time))
                .wrap(from_fn(check_host))
                .wrap(from_fn(render_error_pages))
                .wrap(sessions)
                .wrap(from_fn(reseal_old_session_cookie))
                .wrap(CatchPanics)
                .wrap(from_fn(record_request))
                .wrap(from_fn(request_id_header))
                .wrap(from_fn(close_when_draining))
                .wrap(default_headers(secure_cookies))
                .wrap(TracingLogger::<MicroblogRootSpan>::new())
                .app_data(state.clone())
                .app_data(session_keys.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(form_config(BODY_LIMIT))
                .app_data(routes::api::json_config(BODY_LIMIT))
                .configure(|config| routes::configure(config, lab_enabled))
                .configure(more_routes)
                .service(Files::new("/static", "static"))
                .default_service(web::to(routes::not_found))
        })
        .map_err(bind_error)?;
        Ok(Application {
            port,
            server,
            metrics_server,
            state: state_for_shutdown,
            mail,
            open_files,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where `GET /metrics` listens, if it does (the port actually bound).
    pub fn metrics_address(&self) -> Option<std::net::SocketAddr> {
        self.metrics_server.as_ref().map(|(_, address)| *address)
    }

    /// The open-files limit (or why it could not be raised), for the startup line.
    pub fn open_files(&self) -> &str {
        &self.open_files
    }

    /// Where mails go, for the startup line.
    pub fn mail_description(&self) -> &str {
        &self.mail
    }

    /// Serves until the process is stopped (Ctrl-C or SIGTERM), then drains: `/readyz` answers
    /// 503 at once (for READINESS_NOTICE before the listener closes), responses close their
    /// connections, requests in flight get SHUTDOWN_TIMEOUT to finish, and queued error mails
    /// are sent (within MAIL_TIMEOUT).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        let jobs = self.state.jobs.clone();
        let shutdown_timeout = Duration::from_secs(self.state.settings.shutdown_timeout_seconds);
        let jobs_stopped = tokio::spawn(async move {
            stop_requested().await;
            // Running jobs get the same time as the requests in flight, then are handed back.
            jobs.stop(shutdown_timeout + READINESS_NOTICE).await;
        });
        let metrics_handle = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            tokio::spawn(async move {
                if let Err(error) = server.await {
                    tracing::error!(error = %error, "The metrics listener stopped");
                }
            });
            handle
        });
        tokio::spawn(async move {
            stop_requested().await;
            state.draining.store(true, Ordering::SeqCst);
            tracing::info!("Stopping: /readyz answers 503; draining the requests in flight");
            // Still accepting for a moment, so a load balancer sees the 503 and stops sending.
            tokio::time::sleep(READINESS_NOTICE).await;
            handle.stop(true).await;
        });
        let served = self.server.await;
        let _ = jobs_stopped.await;
        if let Some(metrics) = metrics_handle {
            metrics.stop(false).await;
        }
        let mail_timeout = Duration::from_secs(self.state.settings.mail.timeout_seconds + 1);
        self.state.error_reporter.flush(mail_timeout).await;
        served
    }
}

/// SIGTERM (a service manager) or SIGINT (Ctrl-C).
async fn stop_requested() {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process still stops, just without draining.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
}
