//! Protections a fork inherits without opting in: CSRF for every state-changing request,
//! whatever its handler reads, and one visible exemption for bearer-token clients.

use actix_web::web;
use diesel::prelude::*;
use microblog::db::schema::{followers, posts};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::helpers::{request_id, session_set_cookie, spawn_app, spawn_app_with_routes};
use crate::process::wait_for_outbox;

/// Routes added the way actix's documentation shows, as a fork would, with nothing of ours.
fn fork_routes(config: &mut web::ServiceConfig) {
    config
        .route("/fork/boom", web::get().to(boom))
        .route("/api/fork/boom", web::get().to(api_boom))
        .route("/fork/note", web::post().to(note));
}

async fn boom() -> &'static str {
    panic!("a fork's handler fell over")
}

async fn api_boom(caller: microblog::routes::api::ApiUser) -> String {
    panic!("a fork's API handler fell over for user {}", caller.user.id)
}

#[derive(Deserialize)]
struct Note {
    text: String,
}

async fn note(form: web::Form<Note>) -> String {
    format!("noted: {}", form.text)
}

#[tokio::test]
async fn a_panic_in_a_route_added_the_plain_actix_way_gets_our_500_page_and_a_mail() {
    // Arrange
    let app = spawn_app_with_routes(&[], fork_routes).await;
    let browser = app.browser();

    // Act
    let response = browser.get("/fork/boom").await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("An unexpected error has occurred"), "{html}");
    assert!(html.contains(&id), "the error id");
    assert!(
        !html.contains("fell over"),
        "no panic message in production"
    );
    let mails = wait_for_outbox(&app.log_dir).await;
    let (_, mail) = mails.first().expect("an error mail");
    assert!(mail.contains(&format!("Error id: {id}")), "{mail}");
    assert!(
        mail.contains("tests/api/safe_by_default.rs"),
        "the location: {mail}"
    );
    assert_eq!(browser.get("/explore").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_form_route_added_the_plain_actix_way_is_csrf_protected() {
    // Arrange
    let app = spawn_app_with_routes(&[], fork_routes).await;
    let browser = app.browser();

    // Act
    let forged = browser.post_raw("/fork/note", &[("text", "forged")]).await;
    let genuine = browser.post("/fork/note", &[("text", "hello")]).await;

    // Assert
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(genuine.status(), StatusCode::OK);
    assert_eq!(genuine.text().await.unwrap(), "noted: hello");
}

#[tokio::test]
async fn a_post_whose_handler_reads_no_form_is_still_refused_without_a_token() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("mallory").await;
    let susan = app.logged_in("susan").await;

    // Act: /follow reads only its path; the body is JSON, not a form.
    let response = susan
        .client
        .post(format!("{}/follow/mallory", app.address))
        .json(&serde_json::json!({ "follow": true }))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let count: i64 = app.query(|conn| followers::table.count().get_result(conn).unwrap());
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_token_may_come_in_an_x_csrf_token_header() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("mallory").await;
    let susan = app.logged_in("susan").await;
    let token = susan.csrf_token().await;

    // Act
    let response = susan
        .client
        .post(format!("{}/follow/mallory", app.address))
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let count: i64 = app.query(|conn| followers::table.count().get_result(conn).unwrap());
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_remember_me_cookie_alone_does_not_let_a_forged_post_through() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.browser();
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let remember = susan.login_remembered("susan", "correct horse").await;

    // Act: what another site's form would send after the browser was closed.
    let response = reqwest::Client::new()
        .post(format!("{}/index", app.address))
        .header("Cookie", format!("remember_token={remember}"))
        .form(&[("post", "forged")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let count: i64 = app.query(|conn| posts::table.count().get_result(conn).unwrap());
    assert_eq!(count, 0);
}

#[tokio::test]
async fn only_the_api_without_cookies_is_exempt_from_the_csrf_check() {
    // Arrange
    let app = spawn_app().await;
    let client = reqwest::Client::new();

    // Act
    let api = client
        .post(format!("{}/api/tokens", app.address))
        .basic_auth("nobody", Some("wrong"))
        .send()
        .await
        .unwrap();
    let api_with_a_cookie = client
        .post(format!("{}/api/tokens", app.address))
        .basic_auth("nobody", Some("wrong"))
        .header("Cookie", "microblog_session=anything")
        .send()
        .await
        .unwrap();
    let form_with_a_bearer_token = client
        .post(format!("{}/lab/bad-input", app.address))
        .header("Authorization", "Bearer some-api-token")
        .form(&[("value", "{\"age\": 300}")])
        .send()
        .await
        .unwrap();

    // Assert: the first reached its handler (401 asks for Basic); the others did not.
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api_with_a_cookie.status(), StatusCode::FORBIDDEN);
    assert_eq!(form_with_a_bearer_token.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_same_site_script_with_a_bearer_token_may_call_the_api_beside_the_session_cookie() {
    // Arrange: a logged-in browser whose script got an access token
    let app = spawn_app().await;
    let browser = app.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let login = browser.login("susan", "correct horse").await;
    let cookie = session_set_cookie(&login)
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    let tokens = app.api_tokens("susan").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();

    // Act: the browser sends its cookie along, as any same-site fetch does
    let with_bearer = client
        .post(format!("{}/api/posts", app.address))
        .bearer_auth(&access)
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"body": "from a script"}))
        .send()
        .await
        .unwrap();
    let with_basic = client
        .post(format!("{}/api/tokens", app.address))
        .basic_auth("susan", Some("correct horse"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();

    // Assert: Bearer cannot be forged by a browser; Basic can, so it is still checked
    assert_eq!(with_bearer.status(), StatusCode::CREATED);
    assert_eq!(with_basic.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_api_error_report_names_the_bearer_tokens_user() {
    // Arrange
    let app = spawn_app_with_routes(&[], fork_routes).await;
    app.browser()
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let client = reqwest::Client::new();
    let tokens = app.api_tokens("susan").await;

    // Act
    let response = client
        .get(format!("{}/api/fork/boom", app.address))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let mails = wait_for_outbox(&app.log_dir).await;
    let (_, mail) = mails.first().expect("an error mail");
    let mail = quoted_printable::decode(mail, quoted_printable::ParseMode::Robust).unwrap();
    let mail = String::from_utf8_lossy(&mail);
    assert!(
        mail.lines()
            .any(|line| line.starts_with("User:") && line.contains("susan (id ")),
        "{mail}"
    );
}
