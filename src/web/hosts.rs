//! Requests are answered only for the site's own names (ALLOWED_HOSTS), as Django does: a page
//! reached through another name (DNS rebinding of a developer's local site, a poisoned Host
//! header) gets our 400 page before anything else runs.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use super::state::AppState;
use crate::errors::AppError;

/// Middleware: refuses a Host header that is not in ALLOWED_HOSTS.
pub async fn check_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // A Host that is not visible ASCII (a raw non-ASCII byte) names none of the allowed hosts;
    // read as "no Host", it would pass as an HTTP/1.0 request does.
    let readable = req
        .headers()
        .get(header::HOST)
        .is_none_or(|value| value.to_str().is_ok());
    let allowed = readable
        && req
            .app_data::<web::Data<AppState>>()
            .map(|state| is_allowed(host_of(req.request()), &state.settings.allowed_hosts))
            .unwrap_or(true);
    if !allowed {
        return Ok(req.error_response(AppError::BadRequest(
            "This site is not served under that name.".to_string(),
        )));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The request's Host (HTTP/1.1) or authority (HTTP/2), never X-Forwarded-Host, which any
/// client can set.
pub fn host_of(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
}

/// Whether `host` (with or without a port) is one of `allowed`. A request without any Host
/// (HTTP/1.0) is let through: it cannot be a rebinding.
fn is_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else { return true };
    let name = match host.rfind(':') {
        // A port after an IPv6 literal (`[::1]:8000`) or a name (`localhost:8000`).
        Some(colon)
            if host[colon..].chars().skip(1).all(|c| c.is_ascii_digit())
                && !host.ends_with(']') =>
        {
            &host[..colon]
        }
        _ => host,
    };
    allowed
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::is_allowed;

    #[test]
    fn a_host_is_compared_without_its_port_and_without_case() {
        let allowed = ["localhost".to_string(), "[::1]".to_string()];
        assert!(is_allowed(Some("LOCALHOST:8000"), &allowed));
        assert!(is_allowed(Some("[::1]:8000"), &allowed));
        assert!(is_allowed(Some("[::1]"), &allowed));
        assert!(!is_allowed(Some("evil.example"), &allowed));
        assert!(!is_allowed(Some("localhost.evil.example:8000"), &allowed));
        assert!(is_allowed(None, &allowed));
        assert!(is_allowed(Some("anything"), &["*".to_string()]));
    }
}
