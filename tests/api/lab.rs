use diesel::prelude::*;
use microblog::db::schema::{posts, users};
use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with};

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
    let names: Vec<String> = app.query(|conn| {
        users::table
            .select(users::username)
            .order(users::id)
            .load(conn)
            .unwrap()
    });
    assert_eq!(names, ["john", "susan"], "nobody was renamed");
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
    assert!(html.contains("UNIQUE constraint failed: users.username"));
}
