//! What may be shown of a request in a log line, a mail or the development error page: secrets
//! (passwords, tokens, cookies, credentials) are replaced before anything is written.

use actix_web::http::header::HeaderMap;

/// What replaces a secret value.
pub const REDACTED: &str = "[redacted]";

/// Name fragments that mark a header, query parameter, form field or JSON member as secret,
/// compared without regard to case: Django's list (`API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE`)
/// plus cookies and sessions, CSRF tokens, one-time codes, PINs and cards. Wide on purpose: a
/// field called `author` is redacted too, and nothing secret gets through as `passwd` or `pwd`.
pub const SECRET_NAME_PARTS: [&str; 14] = [
    "API",
    "AUTH",
    "TOKEN",
    "KEY",
    "SECRET",
    "PASS",
    "SIGNATURE",
    "COOKIE",
    "SESSION",
    "CSRF",
    "OTP",
    "PWD",
    "PIN",
    "CARD",
];

/// Whether a header, parameter, field or member with this name holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
}

/// The headers as (name, value) pairs, credentials redacted.
pub fn headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let shown = if is_secret_field(name.as_str()) {
                REDACTED.to_string()
            } else {
                // A Referer (or Origin) can carry a reset link's token.
                url_text(&String::from_utf8_lossy(value.as_bytes()))
            };
            (name.as_str().to_string(), shown)
        })
        .collect();
    pairs.sort();
    pairs
}

/// `text` on one line: CR, LF, tab and other control characters written as escapes (`\n`), as
/// log lines write them, so no value a client sends can start a forged line in a mail.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(is_line_break_or_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if is_line_break_or_control(c) => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A control character, or one of the two Unicode line separators (not control characters, but
/// some mail readers break lines at them).
fn is_line_break_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
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

/// Any text holding a URL, with the token of a password reset link removed.
pub fn url_text(text: &str) -> String {
    const RESET: &str = "/auth/reset_password/";
    match text.find(RESET) {
        Some(start) => {
            let token_start = start + RESET.len();
            let token_end = text[token_start..]
                .find(['?', '#', ' '])
                .map_or(text.len(), |end| token_start + end);
            format!("{}{REDACTED}{}", &text[..token_start], &text[token_end..])
        }
        None => text.to_string(),
    }
}

/// A query string with secret parameters redacted.
pub fn query(query: &str) -> String {
    let parsed: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let parsed = parsed
        .into_iter()
        .map(|(name, value)| (name, url_text(&value)))
        .collect();
    serde_urlencoded::to_string(pairs(parsed)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    /// A name that holds one of the listed parts, in any case, with anything around it.
    fn secret_name() -> impl Strategy<Value = String> {
        (
            "[a-z_-]{0,6}",
            proptest::sample::select(SECRET_NAME_PARTS.to_vec()),
            "[a-z_-]{0,6}",
            any::<bool>(),
        )
            .prop_map(|(before, part, after, upper)| {
                let part = if upper {
                    part.to_string()
                } else {
                    part.to_lowercase()
                };
                format!("{before}{part}{after}")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Never: a listed name's value in a form, a query string or a header that is shown.
        /// (Values are digits, which no name nor the placeholder holds.)
        #[test]
        fn redaction_never_lets_a_listed_names_value_through(
            name in secret_name(),
            value in "[0-9]{8,24}",
        ) {
            let form = pairs(vec![(name.clone(), value.clone())]);
            prop_assert!(form.iter().all(|(_, shown)| !shown.contains(&value)));
            let shown = query(&serde_urlencoded::to_string([(&name, &value)]).unwrap());
            prop_assert!(!shown.contains(&value), "{}", shown);
            let request = TestRequest::default()
                .insert_header((name.as_str(), value.as_str()))
                .to_http_request();
            let shown = headers(request.headers());
            prop_assert!(shown.iter().all(|(_, shown)| !shown.contains(&value)));
        }

        /// Never: a line break in a mail line from what a client sent.
        #[test]
        fn a_mail_line_never_gains_a_line_break_from_client_input(text in any::<String>()) {
            const BREAKS: [char; 7] = ['\n', '\r', '\x0b', '\x0c', '\u{85}', '\u{2028}', '\u{2029}'];
            let line = one_line(&text);
            let broken = line.contains(BREAKS);
            prop_assert!(!broken, "{:?}", line);
        }
    }

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
    fn the_pattern_list_redacts_every_common_secret_name_and_keeps_the_rest() {
        let secret = [
            "password",
            "password2",
            "passwd",
            "pwd",
            "csrf_token",
            "otp",
            "otp_code",
            "pin",
            "credit_card",
            "card_number",
            "api_key",
            "X-Api-Key",
            "authorization",
            "proxy-authorization",
            "X-Auth-Session",
            "cookie",
            "set-cookie",
            "x-csrf-token",
            "signature",
            "client_secret",
            "refresh_token",
            "sessionid",
        ];
        let kept = [
            "username",
            "email",
            "about_me",
            "post",
            "q",
            "page",
            "next",
            "remember_me",
            "user-agent",
            "accept",
            "content-type",
            "referer",
            "value",
            "note",
        ];
        for name in secret {
            assert!(is_secret_field(name), "{name} must be redacted");
        }
        for name in kept {
            assert!(!is_secret_field(name), "{name} must be kept");
        }
    }

    #[test]
    fn control_characters_cannot_start_a_line() {
        assert_eq!(
            one_line("eve\r\nERROR forged\t\u{7}"),
            "eve\\r\\nERROR forged\\t\\u{7}"
        );
        assert_eq!(one_line("plain text"), "plain text");
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
    fn reset_tokens_leave_a_referer() {
        let req = TestRequest::default()
            .insert_header(("Referer", "http://x/auth/reset_password/abc.123.def?a=1"))
            .to_http_request();
        let shown = headers(req.headers());
        assert!(shown.contains(&(
            "referer".to_string(),
            "http://x/auth/reset_password/[redacted]?a=1".to_string()
        )));
    }

    #[test]
    fn reset_tokens_leave_the_path_and_the_query() {
        assert_eq!(
            url_text("/auth/reset_password/abc.123"),
            "/auth/reset_password/[redacted]"
        );
        assert_eq!(query("token=x&page=2"), "token=%5Bredacted%5D&page=2");
    }
}
