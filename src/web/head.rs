//! HEAD answers like GET, without a body, on every GET route: uptime monitors use it. actix
//! routes HEAD nowhere by itself; here it is routed as a GET, and actix's HTTP layer leaves out
//! the body, because the request it read was a HEAD.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Middleware: a HEAD request is routed as a GET.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
