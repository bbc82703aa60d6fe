//! Session cookies survive a key rotation, as Django's do: a cookie sealed with one of
//! SECRET_KEY_FALLBACKS is opened with it, then sealed again with the current key, so rotating
//! SECRET_KEY logs nobody out.
//!
//! Written by hand because actix-session opens its cookie with one key only. This middleware sits
//! outside it: it rewrites the request's cookie before actix-session reads it, and sends the
//! resealed cookie back when actix-session does not set one itself. With no fallbacks it does
//! nothing at all.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "microblog_session";

/// The key that seals session cookies, and the older ones still accepted; registered as
/// `web::Data<SessionKeys>`.
pub struct SessionKeys {
    pub current: Key,
    pub fallbacks: Vec<Key>,
    /// Whether the cookie is marked `Secure` (SESSION_COOKIE_SECURE).
    pub secure: bool,
}

impl SessionKeys {
    /// The value of `sealed` sealed again with the current key, when only a fallback opens it.
    fn reseal(&self, sealed: &str) -> Option<String> {
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(SESSION_COOKIE, sealed.to_string()));
        if jar.private(&self.current).get(SESSION_COOKIE).is_some() {
            return None;
        }
        let opened = self
            .fallbacks
            .iter()
            .find_map(|key| jar.private(key).get(SESSION_COOKIE))?;
        let mut fresh = CookieJar::new();
        fresh
            .private_mut(&self.current)
            .add(Cookie::new(SESSION_COOKIE, opened.value().to_string()));
        fresh.get(SESSION_COOKIE).map(|c| c.value().to_string())
    }
}

/// Middleware: reseals a session cookie that only a fallback key opens.
pub async fn reseal_old_session_cookie(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let resealed = req
        .app_data::<web::Data<SessionKeys>>()
        .filter(|keys| !keys.fallbacks.is_empty())
        .and_then(|keys| {
            let cookies = cookies_of(&req);
            let (_, sealed) = cookies.iter().find(|(name, _)| name == SESSION_COOKIE)?;
            let resealed = keys.reseal(sealed)?;
            Some((cookies, resealed, keys.secure))
        });
    let Some((cookies, resealed, secure)) = resealed else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // The request's Cookie header is rewritten before actix parses it (it caches the parse).
    let header_value = cookies
        .iter()
        .map(|(name, value)| {
            let value = if name == SESSION_COOKIE {
                &resealed
            } else {
                value
            };
            Cookie::new(name.as_str(), value.as_str())
                .encoded()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("; ");
    if let Ok(value) = HeaderValue::from_str(&header_value) {
        req.headers_mut().insert(header::COOKIE, value);
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    let sets_its_own = response
        .headers()
        .get_all(header::SET_COOKIE)
        .any(|value| value.as_bytes().starts_with(SESSION_COOKIE.as_bytes()));
    if !sets_its_own {
        // The same attributes as actix-session's own cookie (`startup.rs`).
        let cookie = Cookie::build(SESSION_COOKIE, resealed)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .finish();
        if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The request's cookies as (name, decoded value), in order.
fn cookies_of(req: &ServiceRequest) -> Vec<(String, String)> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse_encoded(pair.trim().to_string()).ok())
        .map(|cookie| (cookie.name().to_string(), cookie.value().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_with(key: &Key, value: &str) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(key)
            .add(Cookie::new(SESSION_COOKIE, value.to_string()));
        jar.get(SESSION_COOKIE).unwrap().value().to_string()
    }

    #[test]
    fn a_cookie_sealed_with_a_fallback_is_resealed_with_the_current_key() {
        let (old, new) = (Key::generate(), Key::generate());
        let keys = SessionKeys {
            current: new.clone(),
            fallbacks: vec![old.clone()],
            secure: false,
        };
        let resealed = keys.reseal(&sealed_with(&old, "state")).unwrap();
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(SESSION_COOKIE, resealed));
        assert_eq!(
            jar.private(&new).get(SESSION_COOKIE).unwrap().value(),
            "state"
        );
        assert_eq!(
            keys.reseal(&sealed_with(&new, "state")),
            None,
            "already current"
        );
        assert_eq!(
            keys.reseal(&sealed_with(&Key::generate(), "x")),
            None,
            "unknown key"
        );
    }
}
