//! The HTTP server itself: what actix-web's `HttpServer::listen` builds, with each connection's
//! stream behind a gate ([`gate::GatedStream`]) that lets one request in at a time, so a client
//! that pipelines requests and never reads the answers cannot queue them in our memory.
//!
//! Written out here because `HttpServer` has no place for a stream wrapper: it hands the
//! accepted `TcpStream` straight to actix-http. The parts are actix's own (actix-server's
//! builder, actix-http's `HttpService`), set up as `HttpServer` sets them up.

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
