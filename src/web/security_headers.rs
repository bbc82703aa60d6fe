//! The headers every response carries, pages, error pages, problem documents and static files
//! alike: a Content-Security-Policy that allows nothing inline and no framing, no MIME sniffing,
//! no Referer to other sites, and HSTS when the site is served over HTTPS.
//!
//! actix's `DefaultHeaders` adds them (keeping any a handler set, such as the reset page's
//! `no-referrer`); `errors/middleware.rs` adds the same list to a page that travels without its
//! request.

use actix_web::middleware::DefaultHeaders;

/// The policy: everything from this site only, nothing inline, no plugins, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The headers, with HSTS when `https` (SESSION_COOKIE_SECURE=1).
pub fn security_headers(https: bool) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ];
    if https {
        headers.push(("strict-transport-security", "max-age=31536000"));
    }
    headers
}

/// The middleware that adds them to every response.
pub fn default_headers(https: bool) -> DefaultHeaders {
    security_headers(https)
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, header| headers.add(header))
}
