//! What a client may read about a failure, and how JSON clients get it: RFC 9457 problem details
//! (`application/problem+json`) for clients that prefer JSON or call `/api/`.

use actix_web::http::header::{self, HeaderMap, HeaderValue, QualityItem};
use actix_web::http::StatusCode;
use actix_web::{mime, HttpResponse};
use serde::Serialize;

use super::field_errors::FormErrors;
use super::AppError;

/// What a user may read about the failure: never an internal detail.
pub fn user_message(status: StatusCode, app_error: Option<&AppError>) -> String {
    match app_error {
        Some(error @ (AppError::Unexpected(..) | AppError::Unavailable(_))) => error.to_string(),
        _ if status.is_server_error() => match status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                "The service is busy or temporarily unavailable. Please try again in a moment."
            }
            _ => "An unexpected error has occurred.",
        }
        .to_string(),
        Some(error) => error.to_string(),
        None => match status {
            StatusCode::BAD_REQUEST => "The request could not be understood.",
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "You are not allowed to do that.",
            StatusCode::NOT_FOUND => "The page you asked for does not exist.",
            StatusCode::METHOD_NOT_ALLOWED => "That method is not allowed here.",
            StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "That kind of content is not accepted here.",
            StatusCode::TOO_MANY_REQUESTS => {
                "Too many requests. Please slow down and try again in a moment."
            }
            _ => "The request could not be completed.",
        }
        .to_string(),
    }
}

/// Whether the client asked for JSON: a path under /api/, or an Accept header that ranks
/// JSON above HTML (read with actix's typed quality items).
pub fn wants_json(path: &str, headers: &HeaderMap) -> bool {
    if path.starts_with("/api/") {
        return true;
    }
    let items: Vec<QualityItem<mime::Mime>> = headers
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse().ok())
        .collect();
    let best = |wanted: &[&str]| {
        items
            .iter()
            .filter(|item| wanted.contains(&item.item.essence_str()))
            .map(|item| item.quality)
            .max()
    };
    let json = best(&["application/json", "application/problem+json"]);
    let html = best(&["text/html", "application/xhtml+xml"]);
    json.is_some_and(|json| json > header::Quality::ZERO && html.is_none_or(|html| json > html))
}

/// RFC 9457 problem details.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    request_id: &'a str,
    /// For a 422: the messages for each field.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FormErrors>,
}

/// The problem document for `status`, with what the user may read and the request id.
pub fn problem_document(
    status: StatusCode,
    detail: &str,
    request_id: &str,
    errors: Option<&FormErrors>,
) -> HttpResponse {
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        request_id,
        errors,
    };
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ))
        .json(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        wants_json("/", &headers)
    }

    #[test]
    fn json_is_chosen_only_when_preferred_over_html() {
        assert!(accept("application/json"));
        assert!(accept("application/problem+json, */*;q=0.1"));
        assert!(!accept(
            "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("*/*"));
        assert!(!accept("application/json;q=0"));
        assert!(wants_json("/api/x", &HeaderMap::new()));
    }
}
