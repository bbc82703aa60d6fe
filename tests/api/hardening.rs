//! The site under a closer look: security headers on every response, foreign Host names
//! refused, HEAD answered, a session too large to save ending on our page, bounded flash
//! messages, and secrets in JSON bodies redacted.

use actix_session::Session;
use actix_web::web;
use reqwest::StatusCode;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{request_id, spawn_app, spawn_app_with, spawn_app_with_routes};
use crate::process::wait_for_outbox;

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert!(headers.contains_key("referrer-policy"), "{what}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let browser = app.browser();

    // Act
    let page = browser.get("/explore").await;
    let error_page = browser.get("/no/such/page").await;
    let problem = browser
        .client
        .get(format!("{}/no/such/page", app.address))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let static_file = browser.get("/static/style.css").await;
    let panic_page = browser.post("/test/panic", &[]).await;

    // Assert
    assert_security_headers(&page, "a page");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert!(!page.headers().contains_key("strict-transport-security"));
    assert_security_headers(&error_page, "an error page");
    assert_security_headers(&problem, "a problem document");
    assert_security_headers(&static_file, "a static file");
    assert_eq!(panic_page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(&panic_page, "a panic's 500 page");
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    // Arrange
    let app = spawn_app_with(&[("SESSION_COOKIE_SECURE", "1")]).await;

    // Act
    let response = app.browser().get("/explore").await;

    // Assert
    assert!(response.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
}

#[tokio::test]
async fn a_foreign_host_gets_our_400_page_and_an_allowed_one_is_served() {
    // Arrange
    let app = spawn_app().await;
    let allowing = spawn_app_with(&[("ALLOWED_HOSTS", "microblog.example")]).await;
    let get = |address: String| {
        reqwest::Client::new()
            .get(format!("{address}/explore"))
            .header("Host", "microblog.example")
            .send()
    };

    // Act
    let refused = get(app.address.clone()).await.unwrap();
    let served = get(allowing.address.clone()).await.unwrap();

    // Assert
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(!request_id(&refused).is_empty());
    let html = refused.text().await.unwrap();
    assert!(html.contains("not served under that name"), "{html}");
    assert!(html.contains("<link rel=\"stylesheet\""), "our page");
    assert_eq!(served.status(), StatusCode::OK);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    // Arrange
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let head = |path: &str| client.head(format!("{}{path}", app.address)).send();

    // Act
    let explore = head("/explore").await.unwrap();
    let health = head("/healthz").await.unwrap();
    let missing = head("/no/such/page").await.unwrap();

    // Assert
    assert_eq!(explore.status(), StatusCode::OK);
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(explore.text().await.unwrap().is_empty());
}

/// A fork's route that puts more into the session than a cookie can carry.
fn oversized_session_route(config: &mut web::ServiceConfig) {
    config.route("/fork/hoard", web::get().to(hoard));
}

async fn hoard(session: Session) -> &'static str {
    let _ = session.insert("hoard", "x".repeat(6000));
    "stored"
}

#[tokio::test]
async fn a_session_that_cannot_be_saved_ends_on_our_500_page_with_an_id_and_a_mail() {
    // Arrange
    let app = spawn_app_with_routes(&[], oversized_session_route).await;

    // Act
    let response = app.browser().get("/fork/hoard").await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("An unexpected error has occurred"), "{html}");
    assert!(html.contains(&id));
    let mails = wait_for_outbox(&app.log_dir).await;
    let (_, mail) = mails.first().expect("the error mail");
    assert!(mail.contains(&format!("Error id: {id}")));
}

#[tokio::test]
async fn following_made_up_names_full_of_control_characters_is_refused_and_keeps_the_session_small()
{
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let name = "%01".repeat(150);

    // Act
    let mut last = None;
    for _ in 0..4 {
        last = Some(susan.post(&format!("/follow/{name}"), &[]).await);
    }
    let next = susan.get("/index").await;

    // Assert
    let last = last.unwrap();
    let cookie = last
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.len())
        .max()
        .unwrap_or(0);
    assert!(cookie < 2048, "the session cookie is {cookie} bytes");
    assert_eq!(last.status(), StatusCode::BAD_REQUEST);
    assert_eq!(next.status(), StatusCode::OK);
}

/// A fork's JSON route that fails.
fn json_route(config: &mut web::ServiceConfig) {
    config.route("/fork/json", web::post().to(json_boom));
}

async fn json_boom(_body: web::Json<serde_json::Value>) -> &'static str {
    panic!("a JSON handler fell over")
}

#[tokio::test]
async fn secrets_in_a_json_body_are_redacted_on_the_development_page() {
    // Arrange
    let app = spawn_app_with_routes(&[("DEBUG", "1")], json_route).await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act
    let html = browser
        .client
        .post(format!("{}/fork/json", app.address))
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({ "otp": "123456", "passwd": "hunter2", "note": "kept" }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // Assert
    assert!(html.contains("Development error page"));
    assert!(
        !html.contains("123456") && !html.contains("hunter2"),
        "{html}"
    );
    assert!(html.contains("kept"));
    assert!(html.contains("[redacted]"));
}
