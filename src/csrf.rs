//! CSRF protection for every POST form: the synchronizer-token pattern.
//!
//! Each session holds a random token; every form carries it in a hidden `csrf_token` field and
//! [`CsrfForm`] refuses (403, before anything else is read or written) a body whose token does
//! not match. Written by hand because it is a few lines on top of actix-session, while the
//! available crates (actix-csrf) are unmaintained and use a different, cookie-only pattern.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::errors::AppError;
use crate::redact::{self, FormFields};

const SESSION_KEY: &str = "csrf_token";

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

/// A URL-encoded form body whose `csrf_token` field matched the session's token.
///
/// Make it a handler's first argument: extractors run in order, so a forged request is refused
/// before anything else runs (not even the `last_seen` update of loading the user).
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest("The form could not be read.".to_string())
                }
            })?;
            let fields: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).unwrap_or_default();
            req.extensions_mut()
                .insert(FormFields(redact::pairs(fields)));
            let submitted = serde_urlencoded::from_bytes::<TokenField>(&body)
                .ok()
                .and_then(|field| field.csrf_token);
            let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
            let valid = match (&expected, &submitted) {
                (Some(expected), Some(submitted)) => {
                    bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
                }
                _ => false,
            };
            if !valid {
                return Err(AppError::CsrfRejected);
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|_| {
                    AppError::BadRequest("The form was incomplete or malformed.".to_string())
                })
        })
    }
}
