//! CSRF protection for every state-changing request: the synchronizer-token pattern, checked by
//! one middleware before any handler runs, as Django's `CsrfViewMiddleware` does.
//!
//! Each session holds a random token. Every POST, PUT, PATCH and DELETE must send it back, in
//! the form's hidden `csrf_token` field (the first field of a multipart form) or in an
//! `X-CSRF-Token` header; otherwise the request is
//! refused with 403 before routing, extractors or handlers see it. A handler needs nothing
//! special: `web::Form<T>`, `web::Json<T>`, or no body at all are all protected the same way.
//! The middleware also keeps the posted fields, of a form or a JSON object (secrets redacted), for
//! error reports.
//!
//! Written by hand because it is a few lines on top of actix-session, while the available crates
//! (actix-csrf) are unmaintained and use a different, cookie-only pattern.

use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use subtle::ConstantTimeEq;

use super::request::RequestScope;
use super::streamed_body;
use crate::errors::redact;
use crate::errors::AppError;

const SESSION_KEY: &str = "csrf_token";
/// The header that scripts and API clients with a session send the token in.
const HEADER: &str = "x-csrf-token";
/// The form field the site's own forms send the token in.
const FIELD: &str = "csrf_token";

/// This session's CSRF token, created on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return Ok(token);
    }
    let token = crate::tokens::random_hex(32);
    session.insert(SESSION_KEY, &token).map_err(|e| {
        AppError::unexpected(anyhow::anyhow!("{e}")).context("Failed to store the CSRF token")
    })?;
    Ok(token)
}

/// Middleware: refuses a state-changing request whose token does not match the session's.
pub async fn check_csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_safe(req.method()) || is_exempt(req.path(), req.headers()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // An upload streams on to its handler: a multipart form must send the token as its first
    // field (the site's forms do), an image body in the header. Any other body is read here
    // (within the app's body limit) and handed on unchanged.
    let mut body = None;
    let fields = if streamed_body::is_multipart(&req) {
        match streamed_body::first_multipart_field(&mut req, FIELD).await {
            Ok(token) => token
                .map(|token| vec![(FIELD.to_string(), token)])
                .unwrap_or_default(),
            Err(error) => return Ok(req.error_response(streamed_body::payload_error(error))),
        }
    } else if streamed_body::is_streamed(&req) {
        Vec::new()
    } else {
        match req.extract::<Bytes>().await {
            Ok(bytes) => posted_fields(&req, body.insert(bytes)),
            Err(error) => return Ok(req.error_response(error)),
        }
    };
    let submitted = req
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            fields
                .iter()
                .find(|(name, _)| name == FIELD)
                .map(|(_, value)| value.clone())
        });
    RequestScope::of(&req).set_form(redact::pairs(fields));
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let valid = match (&expected, &submitted) {
        (Some(expected), Some(submitted)) => {
            bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    };
    if !valid {
        if let Some(state) = req.app_data::<actix_web::web::Data<super::state::AppState>>() {
            state.metrics.csrf_refusals.inc();
        }
        return Ok(req.error_response(AppError::CsrfRejected));
    }
    if let Some(body) = body {
        req.set_payload(body.into());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The one exemption: the JSON API under `/api/`, called either without cookies or with a
/// bearer token. The API authenticates by bearer token (or Basic, to get one) and reads no
/// cookie; a browser never adds an `Authorization: Bearer` header by itself (a script must, and
/// a cross-site script cannot without a CORS grant the site never gives), so such a request
/// cannot be forged, even when the browser also sends the session cookie, as any same-site
/// `fetch` does. Basic credentials are another matter: a browser replays them by itself, so a
/// request with cookies and Basic is checked. Every other path is checked, whatever credentials
/// come with it.
pub fn is_exempt(path: &str, headers: &actix_web::http::header::HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        });
    path.starts_with("/api/") && (bearer || !headers.contains_key(header::COOKIE))
}

/// The fields of a form body, or the top-level members of a JSON object body (for error
/// reports, redacted by the caller; anything else shows no fields).
fn posted_fields(req: &ServiceRequest, body: &[u8]) -> Vec<(String, String)> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return serde_urlencoded::from_bytes(body).unwrap_or_default();
    }
    if content_type.starts_with("application/json") {
        if let Ok(serde_json::Value::Object(members)) = serde_json::from_slice(body) {
            return members
                .into_iter()
                .map(|(name, value)| match value {
                    serde_json::Value::String(text) => (name, text),
                    other => (name, other.to_string()),
                })
                .collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::is_exempt;
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Never: the exemption for a request a browser could send by itself to another site,
        /// that is with the site's cookie and without a bearer token (a browser adds cookies
        /// and Basic credentials, never a bearer token), whatever the path and other headers.
        #[test]
        fn the_csrf_exemption_never_covers_a_request_a_browser_could_forge(
            path in prop_oneof!["/api/[a-z/]{0,12}", "/[a-z/%.]{0,16}", any::<String>()],
            cookie in "[ -~]{1,40}",
            authorization in prop_oneof![
                Just(None),
                "Basic [A-Za-z0-9+/=]{0,20}".prop_map(Some),
                "(Bearer|bearer|BEARER)".prop_map(Some),
                "[ -~]{0,20}".prop_filter("not a bearer token", |v| {
                    !v.to_ascii_lowercase().starts_with("bearer ")
                }).prop_map(Some),
            ],
            other in proptest::collection::vec(("x-[a-z]{1,8}", "[ -~]{0,12}"), 0..3),
        ) {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
            if let Some(value) = &authorization {
                headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            for (name, value) in &other {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            prop_assert!(!is_exempt(&path, &headers));
        }

        /// Never: a path outside the API exempt, whatever credentials come with it.
        #[test]
        fn no_page_outside_the_api_is_exempt(
            path in "/[a-z/]{0,16}".prop_filter("not the API", |p| !p.starts_with("/api/")),
            token in "[A-Za-z0-9]{1,20}",
        ) {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
            prop_assert!(!is_exempt(&path, &headers));
        }
    }
}
