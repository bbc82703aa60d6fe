//! What may be shown of a request in a log line, a mail or the development error page: secrets
//! (passwords, tokens, cookies, credentials) are replaced before anything is written.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

/// What replaces a secret value.
pub const REDACTED: &str = "[redacted]";

/// Header names whose values are credentials.
const SECRET_HEADERS: [&str; 5] = [
    "cookie",
    "set-cookie",
    "authorization",
    "proxy-authorization",
    "x-csrf-token",
];

/// Whether a form or query field with this name holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "token", "secret", "csrf", "key"]
        .iter()
        .any(|secret| name.contains(secret))
}

/// The headers as (name, value) pairs, credentials redacted.
pub fn headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let shown = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_string(), shown)
        })
        .collect();
    pairs.sort();
    pairs
}

/// Name/value pairs (a form or a query string) with secret fields redacted.
pub fn pairs(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(name, value)| {
            let value = if is_secret_field(&name) {
                REDACTED.to_string()
            } else {
                value
            };
            (name, value)
        })
        .collect()
}

/// The request's path with the token of a password reset link removed.
pub fn path(req: &HttpRequest) -> String {
    let path = req.path();
    match path.strip_prefix("/auth/reset_password/") {
        Some(_) => format!("/auth/reset_password/{REDACTED}"),
        None => path.to_string(),
    }
}

/// The request's query string with secret parameters redacted.
pub fn query(req: &HttpRequest) -> String {
    let parsed: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    serde_urlencoded::to_string(pairs(parsed)).unwrap_or_default()
}

/// The fields of a form this request posted, as the CSRF extractor read them, secrets already
/// redacted. Kept in the request's extensions for the development error page and error mails.
#[derive(Debug, Clone, Default)]
pub struct FormFields(pub Vec<(String, String)>);

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let redacted = pairs(vec![
            ("username".into(), "susan".into()),
            ("password".into(), "hunter2".into()),
            ("password2".into(), "hunter2".into()),
            ("csrf_token".into(), "abc".into()),
        ]);
        assert_eq!(redacted[0].1, "susan");
        assert!(redacted[1..].iter().all(|(_, value)| value == REDACTED));
    }

    #[test]
    fn cookies_and_credentials_are_redacted_in_headers() {
        let req = TestRequest::default()
            .insert_header(("Cookie", "microblog_session=secret"))
            .insert_header(("Authorization", "Bearer secret"))
            .insert_header(("User-Agent", "test"))
            .to_http_request();
        let shown = headers(req.headers());
        assert!(shown.iter().all(|(_, value)| !value.contains("secret")));
        assert!(shown.contains(&("user-agent".to_string(), "test".to_string())));
    }

    #[test]
    fn reset_tokens_leave_the_path_and_the_query() {
        let req =
            TestRequest::with_uri("/auth/reset_password/abc.123?token=x&page=2").to_http_request();
        assert_eq!(path(&req), "/auth/reset_password/[redacted]");
        assert_eq!(query(&req), "token=%5Bredacted%5D&page=2");
    }
}
