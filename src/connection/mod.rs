//! The HTTP server itself: what actix-web's `HttpServer::listen` builds, with each connection's
//! stream behind a gate ([`gate::GatedStream`]) that lets one request in at a time, so a client
//! that pipelines requests and never reads the answers cannot queue them in our memory.
//!
//! Written out here because `HttpServer` has no place for a stream wrapper: it hands the
//! accepted `TcpStream` straight to actix-http. The parts are actix's own (actix-server's
//! builder, actix-http's `HttpService`), set up as `HttpServer` sets them up.

mod chunked;
mod framing;
mod gate;

use std::net::TcpListener;
use std::time::Duration;

use actix_http::{HttpService, Protocol, Request, Response};
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, Service};
use actix_web::rt::net::TcpStream;

use gate::GatedStream;

/// The most connections one worker serves at once, when the open-files limit allows it.
const MAX_CONNECTIONS_PER_WORKER: usize = 4096;
/// Files kept free for everything but connections: the database, log files, mail.
const FILES_KEPT_FREE: u64 = 64;

/// Raises the open-files soft limit to the hard limit: each connection takes a file, and
/// systemd's default soft limit (1,024) let a thousand slow clients make the site unreachable.
/// Returns the limit (or why it could not be raised, for the startup line) and the connections
/// each worker may hold within it, so that accepting never fails for want of a file.
pub fn open_files_and_connections(workers: usize) -> (String, usize) {
    let (limit, note) = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => (limit, limit.to_string()),
        Err(error) => {
            let limit = rlimit::Resource::NOFILE.get_soft().unwrap_or(1024);
            (limit, format!("{limit} (could not be raised: {error})"))
        }
    };
    let per_worker = limit.saturating_sub(FILES_KEPT_FREE) / workers.max(1) as u64;
    let per_worker = usize::try_from(per_worker).unwrap_or(usize::MAX);
    (note, per_worker.clamp(16, MAX_CONNECTIONS_PER_WORKER))
}

/// How the server treats its connections.
pub struct ConnectionSettings {
    pub workers: usize,
    /// The most connections one worker serves at once.
    pub connections_per_worker: usize,
    /// A request's head must arrive within this long (a bare 408 otherwise).
    pub request_timeout: Duration,
    /// An idle keep-alive connection closes after this long.
    pub keep_alive: Duration,
    /// How long requests in flight get to finish when the server stops.
    pub shutdown_timeout_seconds: u64,
}

/// Serves `app` on `listener`. Signals are left to the caller (`Application::run_until_stopped`).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    settings: ConnectionSettings,
    app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(settings.workers)
        .max_concurrent_connections(settings.connections_per_worker)
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        .listen("microblog", listener, move || {
            let shutdown = shutdown.clone();
            let http = HttpService::build()
                // Keep-alive connections close as soon as the server stops, as under HttpServer.
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(settings.keep_alive)
                .client_request_timeout(settings.request_timeout)
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(address)
                .finish(map_config(
                    app()
                        .into_factory()
                        .map_err(|error| error.into().error_response()),
                    |_| AppConfig::default(),
                ));
            fn_service(|stream: TcpStream| async move {
                // Without it a keep-alive client waits ~40 ms on some responses (Nagle and
                // delayed ACK together).
                let _ = stream.set_nodelay(true);
                let peer = stream.peer_addr().ok();
                Ok((GatedStream::new(stream), Protocol::Http1, peer))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}
