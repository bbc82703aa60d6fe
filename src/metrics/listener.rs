//! `GET /metrics` on METRICS_ADDR, a listener of its own: never on the public port, so no
//! proxy in front of the site can publish it by accident. Anything else there is a bare 404.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};

use super::Metrics;

/// Binds METRICS_ADDR now (so a taken port stops the start) and returns the server to run
/// beside the site, with the address it got.
pub fn serve(address: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<(Server, SocketAddr)> {
    let listener = TcpListener::bind(address)?;
    let bound = listener.local_addr()?;
    let metrics = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(scrape))
    })
    // One worker: a scrape every few seconds needs no more, and it keeps its own thread.
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, bound))
}

async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.render() {
        Some(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(body),
        None => {
            tracing::error!("The metrics could not be written");
            HttpResponse::InternalServerError().finish()
        }
    }
}
