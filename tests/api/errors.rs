//! Every way a request can fail ends on our page or problem document, with the right status and
//! the request id.

use microblog::db;
use reqwest::StatusCode;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{request_id, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_our_404_page_with_the_path_escaped_and_a_search_box() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.browser().get("/no/<script>such</script>").await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!request_id(&response).is_empty());
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Not Found</h1>"));
    assert!(html.contains("action=\"/search\""));
    assert!(html.contains("href=\"/index\""), "a way back home");
    assert!(!html.contains("<script>such"));
}

#[tokio::test]
async fn a_wrong_method_is_our_405_page_with_an_allow_header() {
    // Arrange
    let app = spawn_app().await;

    // Act
    // With a valid CSRF token: a POST without one is refused (403) before routing.
    let response = app.browser().post("/explore", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET");
    let html = response.text().await.unwrap();
    assert!(html.contains("That method is not allowed here."));
    assert!(
        html.contains("<link rel=\"stylesheet\""),
        "our template, not actix's text"
    );
}

#[tokio::test]
async fn an_oversized_form_is_our_413_page() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let huge = "x".repeat(100 * 1024);

    // Act
    let response = susan.post("/index", &[("post", &huge)]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("The request is too large."));
}

#[tokio::test]
async fn a_form_missing_its_fields_is_our_400_page() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan.post("/edit_profile", &[("nothing", "here")]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("The form was incomplete or malformed."));
    assert!(!html.contains("missing field"), "no parser internals");
}

#[tokio::test]
async fn a_bad_query_parameter_is_our_400_page() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.browser().get("/explore?page=abc").await;

    // Assert
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("The request could not be understood."));
    assert!(!html.contains("invalid digit"));
}

#[tokio::test]
async fn json_clients_get_problem_documents_with_the_request_id() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let response = browser
        .client
        .get(format!("{}/user/nobody", app.address))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let api = browser.get("/api/anything").await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let id = request_id(&response);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
    assert_eq!(problem["type"], "about:blank");
    assert_eq!(problem["request_id"], id.as_str());
    assert!(problem["detail"].is_string());
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let responses = [
        browser.get("/explore").await,
        browser.get("/static/style.css").await,
        browser.get("/nowhere").await,
        browser.get("/index").await,
    ];

    // Assert
    let ids: Vec<String> = responses.iter().map(request_id).collect();
    assert!(ids.iter().all(|id| id.len() == 36), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn a_panicking_handler_gets_the_500_page_and_the_server_keeps_serving() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let browser = app.browser();

    // Act
    let response = browser.post("/test/panic", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("An unexpected error has occurred"));
    assert!(html.contains("The administrator has been notified"));
    assert!(html.contains(&id), "the error id is the request id");
    assert!(
        !html.contains("never there"),
        "no panic message in production"
    );
    assert!(
        !html.contains("failing_routes.rs"),
        "no source location in production"
    );
    assert_eq!(browser.get("/explore").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_json_client_gets_a_500_problem_without_internals() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act
    let response = browser
        .client
        .post(format!("{}/test/panic", app.address))
        .header("Accept", "application/json")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.text().await.unwrap();
    let problem: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["detail"], "An unexpected error has occurred.");
    assert!(!text.contains("never there") && !text.contains("failing_routes.rs"));
}

#[tokio::test]
async fn with_debug_on_a_500_shows_the_development_page_with_secrets_redacted() {
    // Arrange
    let app = spawn_failing_app(&[("DEBUG", "1")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan
        .post(
            "/test/panic",
            &[("password", "hunter2"), ("note", "<b>bold</b>")],
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert!(html.contains("Development error page"));
    assert!(html.contains("never there"), "the panic message");
    assert!(
        html.contains("tests/api/failing_routes.rs"),
        "the panic location"
    );
    assert!(html.contains("susan (id 1)"));
    assert!(!html.contains("hunter2"), "form passwords are redacted");
    assert!(
        html.contains("&lt;b&gt;bold&lt;/b&gt;"),
        "values are escaped"
    );
    assert!(!html.contains("microblog_session="), "cookies are redacted");
    assert!(html.contains("[redacted]"));
}

#[tokio::test]
async fn with_debug_off_the_development_page_is_never_shown() {
    // Arrange
    let app = spawn_failing_app(&[("DEBUG", "0")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let html = susan.post("/test/panic", &[]).await.text().await.unwrap();

    // Assert
    assert!(!html.contains("Development error page"));
    assert!(!html.contains("Caused by"));
}

#[tokio::test]
async fn a_locked_database_is_a_503_and_the_write_is_not_half_done() {
    // Arrange: another connection holds the lock longer than the 5 s busy (or lock) timeout
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let token = susan.csrf_token().await;
    let locker: &mut db::DbConnection = &mut app.pool.get().unwrap();
    let lock = match locker {
        db::DbConnection::Sqlite(_) => "BEGIN EXCLUSIVE",
        db::DbConnection::Postgresql(_) => "BEGIN; LOCK TABLE posts IN ACCESS EXCLUSIVE MODE",
    };
    diesel::connection::SimpleConnection::batch_execute(locker, lock).unwrap();

    // Act
    let response = susan
        .post_raw(
            "/index",
            &[("post", "written while locked"), ("csrf_token", &token)],
        )
        .await;
    diesel::connection::SimpleConnection::batch_execute(locker, "ROLLBACK").unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(html.contains("temporarily unavailable"));
    assert!(!html.contains("database is locked"), "no internals");
    assert!(!susan
        .get_html("/index")
        .await
        .contains("written while locked"));
}
