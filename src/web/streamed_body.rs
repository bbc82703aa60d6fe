//! Uploads are the one kind of body not read whole before the handler runs: a multipart form
//! or an image (`image/*`) streams through to the handler, which keeps only what it accepts
//! and stops reading as soon as it knows the answer. Such a body is still bounded here, for any
//! route a fork adds: it must arrive within REQUEST_TIMEOUT and stay under a size cap, or the
//! stream ends in an error the handler turns into our 408 or 413.

use std::io;
use std::time::Duration;

use actix_multipart::{Multipart, MultipartError};
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpMessage;
use futures_util::{stream, StreamExt, TryStreamExt};
use tokio::time::Instant;

/// The most of a multipart body read before the handler, to find the CSRF token in its first
/// field.
const TOKEN_PREFIX_LIMIT: usize = 16 * 1024;
/// What a streamed body may hold besides its file: the form's text fields and the framing.
pub const STREAMED_OVERHEAD: usize = 128 * 1024;

/// Whether the body is an upload, streamed to the handler: a multipart form or an image.
pub fn is_streamed(req: &ServiceRequest) -> bool {
    is_multipart(req)
        || req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|mime| mime.type_() == "image")
}

/// Whether the body is a multipart form.
pub fn is_multipart(req: &ServiceRequest) -> bool {
    req.mime_type()
        .ok()
        .flatten()
        .is_some_and(|mime| mime.essence_str() == "multipart/form-data")
}

/// The request's body as a stream that ends in an error once `within` has passed (an I/O error
/// of kind `TimedOut`) or once more than `cap` bytes have come (`PayloadError::Overflow`).
pub fn bound(req: &mut ServiceRequest, within: Duration, cap: usize) {
    let deadline = Instant::now() + within;
    let payload = req.take_payload();
    let bounded = stream::unfold(
        (payload, 0usize, false),
        move |(mut payload, seen, ended)| async move {
            if ended {
                return None;
            }
            let item = match tokio::time::timeout_at(deadline, payload.next()).await {
                Err(_) => Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the body did not arrive in time",
                ))),
                Ok(None) => return None,
                Ok(Some(Ok(bytes))) if seen + bytes.len() > cap => Err(PayloadError::Overflow),
                Ok(Some(item)) => item,
            };
            let seen = seen + item.as_ref().map_or(0, |bytes| bytes.len());
            let ended = item.is_err();
            Some((item, (payload, seen, ended)))
        },
    );
    // Fused: actix-multipart may ask again after the end, which `unfold` does not allow.
    req.set_payload(Payload::Stream {
        payload: Box::pin(bounded.fuse()),
    });
}

/// The value of the multipart body's first field, if that field is `name`: the form's CSRF
/// token, which the site's forms send first. Reads at most `TOKEN_PREFIX_LIMIT` bytes, and
/// hands the body on whole: what was read, then the rest as it comes.
pub async fn first_multipart_field(
    req: &mut ServiceRequest,
    name: &str,
) -> Result<Option<String>, PayloadError> {
    let mut payload = req.take_payload();
    let mut prefix = BytesMut::new();
    let mut ended = false;
    // Parsed again only when a field may have ended (a delimiter came) or the prefix has
    // doubled: a client sending a byte at a time must not make each byte cost a parse.
    let mut parsed_at = 0;
    let found = loop {
        let may_have_ended = ended
            || prefix.len() >= 2 * parsed_at.max(512)
            || contains_delimiter(&prefix[parsed_at.saturating_sub(4)..]);
        if may_have_ended {
            parsed_at = prefix.len();
            match first_field(req.headers(), prefix.clone().freeze(), ended).await {
                Parsed::Field(field, value) => break (field == name).then_some(value),
                Parsed::Invalid => break None,
                Parsed::NeedMore if ended || prefix.len() >= TOKEN_PREFIX_LIMIT => break None,
                Parsed::NeedMore => {}
            }
        }
        if prefix.len() >= TOKEN_PREFIX_LIMIT {
            break None;
        }
        match payload.next().await {
            Some(Ok(bytes)) => prefix.extend_from_slice(&bytes),
            Some(Err(error)) => return Err(error),
            None => ended = true,
        }
    };
    let read = stream::once(async move { Ok::<Bytes, PayloadError>(prefix.freeze()) });
    req.set_payload(Payload::Stream {
        payload: Box::pin(read.chain(payload).fuse()),
    });
    Ok(found)
}

/// Whether `bytes` hold the start of a multipart delimiter line.
fn contains_delimiter(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|window| window == b"\r\n--")
}

/// What a streamed body's error means to the client: too slow (408, and the connection is
/// closed), too large (413), or cut short (400).
pub fn payload_error(error: PayloadError) -> crate::errors::AppError {
    use crate::errors::AppError;
    match error {
        PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut => AppError::RequestTimeout,
        PayloadError::Overflow => AppError::PayloadTooLarge,
        _ => AppError::BadRequest("The body was incomplete or malformed.".to_string()),
    }
}

enum Parsed {
    Field(String, String),
    NeedMore,
    Invalid,
}

/// Parses the first field of `prefix` with actix-multipart, as the handler will parse it.
async fn first_field(headers: &HeaderMap, prefix: Bytes, ended: bool) -> Parsed {
    let need_more = |error: &MultipartError| matches!(error, MultipartError::Incomplete) && !ended;
    let mut multipart = Multipart::new(headers, stream::iter([Ok::<_, PayloadError>(prefix)]));
    let mut field = match multipart.try_next().await {
        Ok(Some(field)) => field,
        Err(error) if need_more(&error) => return Parsed::NeedMore,
        _ => return Parsed::Invalid,
    };
    let name = field.name().unwrap_or_default().to_string();
    let mut value = Vec::new();
    loop {
        match field.try_next().await {
            Ok(Some(chunk)) => value.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(error) if need_more(&error) => return Parsed::NeedMore,
            Err(_) => return Parsed::Invalid,
        }
    }
    match String::from_utf8(value) {
        Ok(value) => Parsed::Field(name, value),
        Err(_) => Parsed::Invalid,
    }
}
