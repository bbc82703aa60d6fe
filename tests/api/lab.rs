use diesel::prelude::*;
use microblog::db::schema::{posts, users};
use reqwest::StatusCode;

use crate::helpers::{request_id, spawn_app, spawn_app_with, TestApp};

/// Every username, in the order the users registered.
fn usernames(app: &TestApp) -> Vec<String> {
    app.query(|conn| {
        users::table
            .select(users::username)
            .order(users::id)
            .load(conn)
            .unwrap()
    })
}

#[tokio::test]
async fn the_lab_lists_its_experiments_with_buttons() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let html = app.browser().get_html("/lab").await;

    // Assert
    assert!(html.contains("action=\"/lab/panic\""));
    assert!(html.contains("action=\"/lab/db-error\""));
    assert!(html.contains("DEBUG=0 (production)"));
    assert!(html.contains("name=\"csrf_token\""));
}

#[tokio::test]
async fn the_lab_is_a_404_when_disabled() {
    // Arrange
    let app = spawn_app_with(&[("ERROR_LAB", "0")]).await;
    let browser = app.browser();

    // Act
    let page = browser.get("/lab").await;
    let experiment = browser.post("/lab/panic", &[]).await;

    // Assert
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(experiment.status(), StatusCode::NOT_FOUND);
    assert!(!browser.get_html("/explore").await.contains("href=\"/lab\""));
}

#[tokio::test]
async fn an_experiment_without_a_csrf_token_is_refused() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.browser().post_raw("/lab/panic", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_db_error_experiment_rolls_back_the_whole_transaction() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("john").await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan.post("/lab/db-error", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("An unexpected error has occurred"));
    let post_count: i64 = app.query(|conn| posts::table.count().get_result(conn).unwrap());
    assert_eq!(
        post_count, 0,
        "the post written before the failure was rolled back"
    );
    assert_eq!(usernames(&app), ["john", "susan"], "nobody was renamed");
}

#[tokio::test]
async fn the_db_error_experiment_shows_the_unique_violation_with_debug_on() {
    // Arrange
    let app = spawn_app_with(&[("DEBUG", "1")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let html = susan.post("/lab/db-error", &[]).await.text().await.unwrap();

    // Assert
    assert!(html.contains("Failed to rename the user"));
    assert!(html.contains("users_username_key"));
}

/// An experiment's name, its form fields, the status it answers and a phrase of its page.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    u16,
    &'static str,
);

const EXPERIMENTS: &[Case] = &[
    ("panic", &[], 500, "An unexpected error has occurred"),
    ("db-error", &[], 500, "An unexpected error has occurred"),
    ("not-found", &[], 404, "There is no user number -1."),
    (
        "expired-token",
        &[],
        401,
        "error_description=&quot;The access token expired.&quot;",
    ),
    ("tampered-token", &[], 401, "The access token is invalid."),
    ("wrong-role", &[], 403, "insufficient_scope"),
    ("job-retry", &[], 200, "is queued"),
    ("job-slow", &[], 200, "is queued"),
    ("file-not-found", &[], 404, "Not Found"),
    (
        "bad-input",
        &[("value", "{\"age\": 300}")],
        400,
        "expected u8",
    ),
    (
        "bad-input",
        &[("value", "{\"age\": 30}")],
        200,
        "That is a valid person: Person { age: 30 }",
    ),
    (
        "template-error",
        &[],
        500,
        "An unexpected error has occurred",
    ),
    ("external-api", &[], 200, "fallback quote"),
    ("slow", &[], 503, "temporarily unavailable"),
    (
        "background-task",
        &[],
        200,
        "A background job named lab-cleanup is queued",
    ),
    (
        "mail-down",
        &[],
        200,
        "we could not send the mail right now",
    ),
    ("log-levels", &[], 200, "Five lines were logged"),
    ("forbidden", &[], 403, "You are not allowed to do that."),
    (
        "upload-too-large",
        &[],
        413,
        "The file is larger than 2 MiB.",
    ),
    (
        "upload-not-an-image",
        &[],
        422,
        "This file is not an image.",
    ),
    ("upload-bomb", &[], 422, "at most 4096 × 4096 pixels"),
    (
        "upload-storage-fails",
        &[],
        500,
        "An unexpected error has occurred",
    ),
    // The padding is filled in by `form_of`: 2 KiB, over the route's 1 KiB limit.
    (
        "too-large",
        &[("padding", "")],
        413,
        "The request is too large.",
    ),
];

/// The fields a case posts, with the too-large padding filled in.
fn form_of<'a>(fields: &[(&'a str, &'a str)], padding: &'a str) -> Vec<(&'a str, &'a str)> {
    fields
        .iter()
        .map(|&(name, value)| (name, if name == "padding" { padding } else { value }))
        .collect()
}

#[tokio::test]
async fn every_experiment_answers_its_documented_status_and_page() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("john").await;
    let susan = app.logged_in("susan").await;

    for (name, fields, status, phrase) in EXPERIMENTS {
        // Act
        let padding = "x".repeat(2048);
        let response = susan
            .post(&format!("/lab/{name}"), &form_of(fields, &padding))
            .await;

        // Assert
        assert_eq!(response.status().as_u16(), *status, "{name}");
        let id = request_id(&response);
        let html = response.text().await.unwrap();
        assert!(html.contains(phrase), "{name}: {phrase:?} not in the page");
        assert!(html.contains(&id), "{name}: the page shows its request id");
    }
}

#[tokio::test]
async fn failing_experiments_answer_json_clients_with_problem_documents() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let token = susan.csrf_token().await;

    // The upload refusals end on the lab's own page, saying what Edit Profile's form would
    // show; they are not error pages.
    let refusal_page = |name: &str| name.starts_with("upload-") && name != "upload-storage-fails";
    for (name, fields, status, _) in EXPERIMENTS
        .iter()
        .filter(|e| e.2 >= 400 && !refusal_page(e.0))
    {
        // Act
        let padding = "x".repeat(2048);
        let mut form = form_of(fields, &padding);
        form.push(("csrf_token", &token));
        let response = susan
            .client
            .post(format!("{}/lab/{name}", app.address))
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(response.status().as_u16(), *status, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
        let id = request_id(&response);
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], *status, "{name}");
        assert_eq!(problem["request_id"], id.as_str(), "{name}");
    }
}

#[tokio::test]
async fn the_log_viewer_is_a_404_when_the_lab_is_disabled() {
    // Arrange
    let app = spawn_app_with(&[("ERROR_LAB", "0")]).await;

    // Act
    let response = app.browser().get("/lab/logs?request_id=abc").await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_log_viewer_never_shows_reset_mails_or_answers_a_partial_id() {
    // Arrange: a reset link written to the outbox (no MAIL_SERVER)
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();
    let asked = browser
        .post(
            "/auth/reset_password_request",
            &[("email", "susan@example.com")],
        )
        .await;
    let id = request_id(&asked);
    crate::process::wait_for_outbox(&app.log_dir).await;

    // Act
    let by_id = browser
        .get_html(&format!("/lab/logs?request_id={id}"))
        .await;
    let by_fragment = browser.get_html("/lab/logs?request_id=-").await;

    // Assert
    for html in [by_id, by_fragment] {
        assert!(
            !html.contains("reset_password/"),
            "a reset link leaked: {html}"
        );
    }
}

#[tokio::test]
async fn the_template_error_names_the_template_and_variable_with_debug_on() {
    // Arrange
    let app = spawn_app_with(&[("DEBUG", "1")]).await;
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    let response = browser.post("/lab/template-error", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert!(html.contains("lab/broken.html"));
    assert!(html.contains("missing_variable"));
}

#[tokio::test]
async fn the_db_error_experiment_works_for_a_lone_user_and_still_rolls_back() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan.post("/lab/db-error", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        usernames(&app),
        ["susan", "lab-rival"],
        "a rival to collide with, and no rename"
    );
    let post_count: i64 = app.query(|conn| posts::table.count().get_result(conn).unwrap());
    assert_eq!(post_count, 0);
}

#[tokio::test]
async fn the_too_large_button_sends_more_than_its_route_accepts() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();
    let page = browser.get_html("/lab").await;
    let marker = "name=\"padding\" value=\"";
    let start = page.find(marker).expect("the padding field") + marker.len();
    let padding = &page[start..start + page[start..].find('"').unwrap()];

    // Act
    let response = browser
        .post("/lab/too-large", &[("padding", padding)])
        .await;

    // Assert
    assert!(padding.len() > 1024);
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
