use diesel::prelude::*;
use microblog::db::schema::posts;
use reqwest::StatusCode;

use crate::helpers::{session_set_cookie, spawn_app};

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let missing = susan.post_raw("/index", &[("post", "forged")]).await;
    let wrong = susan
        .post_raw(
            "/index",
            &[("post", "forged"), ("csrf_token", &"0".repeat(64))],
        )
        .await;

    // Assert
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong.text().await.unwrap().contains("The form has expired"));
    let count: i64 = app.query(|conn| posts::table.count().get_result(conn).unwrap());
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_csrf_token_from_another_session_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    let mallory = app.logged_in("mallory").await;
    let mallorys_token = mallory.csrf_token().await;

    // Act
    let response = susan
        .post_raw("/follow/mallory", &[("csrf_token", &mallorys_token)])
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(susan
        .get_html("/user/mallory")
        .await
        .contains("<strong>0</strong> followers"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.browser().get("/auth/login").await;

    // Assert
    let cookie = session_set_cookie(&response);
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"));
}

#[tokio::test]
async fn cookies_are_secure_when_configured_for_https() {
    // Arrange
    let app = crate::helpers::spawn_app_with(&[("SESSION_COOKIE_SECURE", "1")]).await;

    // Act
    let response = app.browser().get("/auth/login").await;

    // Assert
    let cookie = session_set_cookie(&response);
    assert!(cookie.contains("Secure"));
}

#[tokio::test]
async fn the_session_is_renewed_at_login() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();
    let token_before = browser.csrf_token().await;

    // Act
    browser.login("susan", "correct horse").await;
    let token_after = browser.csrf_token().await;

    // Assert
    assert_ne!(
        token_before, token_after,
        "a token fixed before login is worthless after it"
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    // Arrange
    let app = spawn_app().await;

    // Act
    app.logged_in("susan").await;

    // Assert
    use microblog::db::schema::users;
    let hash: String = app.query(|conn| {
        users::table
            .select(users::password_hash)
            .first(conn)
            .unwrap()
    });
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!hash.contains("correct horse"));
}
