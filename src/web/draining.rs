//! Shutting down without dropping a request: once the process is asked to stop, every response
//! closes its connection, so keep-alive clients go elsewhere instead of waiting on a server that
//! is leaving (`/readyz` already says 503).

use std::sync::atomic::Ordering;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;

use super::state::AppState;

/// Middleware: while draining, `Connection: close` on every response.
pub async fn close_when_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut response = next.call(req).await?;
    if state.is_some_and(|state| state.draining.load(Ordering::SeqCst)) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}
