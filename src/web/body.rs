//! Request bodies arrive in time or not at all: a POST that declares 60,000 bytes and sends ten
//! would otherwise hold its connection (and a file descriptor) for as long as the client likes.
//! The body of every state-changing request is read here, within the app's size limit and
//! REQUEST_TIMEOUT; a late one gets our 408 page and the connection is closed. The handler then
//! reads the same bytes from memory, whatever extractor it uses. Uploads stream through instead,
//! under the same deadline (`streamed_body.rs`).

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};

use super::state::AppState;
use crate::errors::AppError;

/// Middleware: reads the body of a POST, PUT, PATCH or DELETE within REQUEST_TIMEOUT.
pub async fn read_body_in_time(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Every method that may change something (as the CSRF check counts them), not only the
    // usual four: a PROPFIND's body is read under the same deadline.
    let has_body = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if has_body && super::streamed_body::is_streamed(&req) {
        // actix drains an unread chunked body with no time limit once the answer is sent;
        // with a length, it lingers a second at most. Browsers always send the length.
        if !req
            .headers()
            .contains_key(actix_web::http::header::CONTENT_LENGTH)
        {
            return Ok(req.error_response(AppError::LengthRequired));
        }
        let (within, file_limit) = req.app_data::<web::Data<AppState>>().map_or(
            (Duration::from_secs(10), 2 * 1024 * 1024),
            |state| {
                (
                    state.settings.request_timeout(),
                    state.settings.avatar_max_bytes,
                )
            },
        );
        let cap = file_limit + super::streamed_body::STREAMED_OVERHEAD;
        super::streamed_body::bound(&mut req, within, cap);
    } else if has_body {
        let deadline = req
            .app_data::<web::Data<AppState>>()
            .map_or(Duration::from_secs(10), |state| {
                state.settings.request_timeout()
            });
        match tokio::time::timeout(deadline, req.extract::<Bytes>()).await {
            Err(_) => return Ok(req.error_response(AppError::RequestTimeout)),
            Ok(Err(error)) => return Ok(req.error_response(error)),
            Ok(Ok(body)) => req.set_payload(body.into()),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
