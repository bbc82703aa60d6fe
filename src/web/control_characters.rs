//! Control characters are refused in one place, before routing, for every route: in the path
//! and the query (where no field can hold one), and in form and JSON bodies (where only tab and
//! line breaks belong, in a post or an "about me"). A NUL byte is the sharpest case: SQLite
//! stores it, PostgreSQL refuses it as an encoding error, and neither is what a user meant.
//! The answer is our 400, the same on both databases, before any query runs.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::mime;
use actix_web::web::Bytes;
use actix_web::HttpMessage;

use crate::errors::AppError;

/// Middleware: refuses a request whose path, query or text body holds a control character.
pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let uri = req.uri();
    if has_encoded_control(uri.path()) || uri.query().is_some_and(has_encoded_control) {
        return Ok(req.error_response(refused()));
    }
    let Some(kind) = text_body(&req) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // The body is read here (within the app's body limit) and handed on unchanged.
    let body = match req.extract::<Bytes>().await {
        Ok(body) => body,
        Err(error) => return Ok(req.error_response(error)),
    };
    if body_has_control(kind, &body) {
        return Ok(req.error_response(refused()));
    }
    req.set_payload(body.into());
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn refused() -> AppError {
    AppError::BadRequest(
        "The request holds a control character (such as a NUL byte) where none is allowed."
            .to_string(),
    )
}

/// Whether a path or query string (as sent: a raw control byte cannot get past the HTTP parser)
/// percent-encodes a control character: `%00` to `%1F`, `%7F`, or a C1 control in UTF-8
/// (`%C2%80` to `%C2%9F`).
pub fn has_encoded_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    let c0 = bytes.windows(3).any(|window| {
        window[0] == b'%'
            && matches!(
                (window[1], window[2].to_ascii_uppercase()),
                (b'0' | b'1', b'0'..=b'9' | b'A'..=b'F') | (b'7', b'F')
            )
    });
    let c1 = bytes.windows(6).any(|window| {
        let upper = window.to_ascii_uppercase();
        upper.starts_with(b"%C2%")
            && matches!(upper[4], b'8' | b'9')
            && upper[5].is_ascii_hexdigit()
    });
    c0 || c1
}

#[derive(Clone, Copy)]
enum TextBody {
    Form,
    Json,
}

/// The kind of text body a state-changing request carries, if it is one a handler may read:
/// a form, or JSON as actix reads it (`application/json`, any `+json` type, any case).
/// Other methods have no route that reads a body, and their bodies are not read under
/// REQUEST_TIMEOUT (`web/body.rs`), so they are not read here either.
fn text_body(req: &ServiceRequest) -> Option<TextBody> {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return None;
    }
    let mime = req.mime_type().ok().flatten()?;
    let json = mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON);
    if mime.essence_str() == mime::APPLICATION_WWW_FORM_URLENCODED.essence_str() {
        Some(TextBody::Form)
    } else if json {
        Some(TextBody::Json)
    } else {
        None
    }
}

/// Whether `text` holds a control character other than tab and line breaks: for the fields of
/// a multipart form, which its handler reads as it streams.
pub fn has_control(text: &str) -> bool {
    text.chars().any(is_refused)
}

/// A control character other than tab and line breaks.
fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn body_has_control(kind: TextBody, body: &[u8]) -> bool {
    match kind {
        TextBody::Form => form_urlencoded_pairs(body)
            .iter()
            .any(|(name, value)| name.chars().any(is_refused) || value.chars().any(is_refused)),
        // A body that is not JSON is the handler's to refuse, with its own message.
        TextBody::Json => serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|value| json_has_control(&value)),
    }
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn json_has_control(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.chars().any(is_refused),
        Value::Array(items) => items.iter().any(json_has_control),
        Value::Object(members) => members
            .iter()
            .any(|(name, value)| name.chars().any(is_refused) || json_has_control(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_control_characters_are_found_and_ordinary_escapes_are_not() {
        for hostile in [
            "/user/alice%00",
            "q=%0a",
            "q=%1F",
            "x%7f",
            "%7F",
            "q=%c2%85",
            "%C2%9F",
        ] {
            assert!(has_encoded_control(hostile), "{hostile}");
        }
        for fine in [
            "/user/alice",
            "q=%20%41",
            "q=100%25",
            "%2F",
            "%",
            "q=%C2%A0",
            "%C3%A9",
        ] {
            assert!(!has_encoded_control(fine), "{fine}");
        }
    }

    #[test]
    fn bodies_may_hold_line_breaks_but_no_other_control_character() {
        assert!(!body_has_control(TextBody::Form, b"post=a%0D%0Ab%09c"));
        assert!(body_has_control(TextBody::Form, b"username=alice%00"));
        assert!(body_has_control(
            TextBody::Json,
            br#"{"a":{"b":["x\u0000"]}}"#
        ));
        assert!(body_has_control(TextBody::Json, br#"{"a\u0007":1}"#));
        assert!(!body_has_control(TextBody::Json, br#"{"about_me":"a\nb"}"#));
        assert!(!body_has_control(TextBody::Json, b"not json"));
    }
}
