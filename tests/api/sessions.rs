//! Logins that can end: a copy of the session cookie stops working at logout, at a password
//! reset, after the idle limit and after the absolute limit.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{session_set_cookie, spawn_app, spawn_app_with, TestApp};
use crate::smtp::{body_of, reset_link_path, SmtpServer};

/// Logs susan in and returns a copy of her session cookie, as a thief would take it.
async fn logged_in_copy(app: &TestApp) -> (crate::helpers::Browser, String) {
    let susan = app.browser();
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let response = susan.login("susan", "correct horse").await;
    let cookie = session_set_cookie(&response);
    let copy = cookie.split(';').next().unwrap().to_string();
    (susan, copy)
}

/// GET /index with nothing but `cookie`.
async fn index_with(app: &TestApp, cookie: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/index", app.address))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_session_cookie_copied_before_logout_no_longer_authenticates_after_it() {
    // Arrange
    let app = spawn_app().await;
    let (susan, copy) = logged_in_copy(&app).await;
    assert_eq!(
        index_with(&app, &copy).await,
        StatusCode::OK,
        "the copy works"
    );

    // Act
    susan.post("/auth/logout", &[]).await;

    // Assert
    assert_eq!(index_with(&app, &copy).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_password_reset_ends_every_login_made_before_it() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_app_with(&[("MAIL_SERVER", "127.0.0.1"), ("MAIL_PORT", &port)]).await;
    let (_, copy) = logged_in_copy(&app).await;
    let browser = app.browser();
    browser
        .post(
            "/auth/reset_password_request",
            &[("email", "susan@example.com")],
        )
        .await;
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    let body = body_of(&mails[0]);
    let path = reset_link_path(&body);

    // Act
    let reset = browser
        .post(
            &path,
            &[("password", "a new secret"), ("password2", "a new secret")],
        )
        .await;

    // Assert
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(index_with(&app, &copy).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_login_ends_after_the_idle_limit() {
    // Arrange
    let app = spawn_app_with(&[("SESSION_IDLE_SECONDS", "1")]).await;
    let (_, copy) = logged_in_copy(&app).await;
    assert_eq!(index_with(&app, &copy).await, StatusCode::OK);

    // Act
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // Assert
    assert_eq!(index_with(&app, &copy).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_busy_login_still_ends_at_the_absolute_limit() {
    // Arrange
    let app = spawn_app_with(&[("SESSION_IDLE_SECONDS", "60"), ("SESSION_MAX_SECONDS", "2")]).await;
    let (_, copy) = logged_in_copy(&app).await;

    // Act: busy all along
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(index_with(&app, &copy).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Assert
    assert_eq!(statuses[0], StatusCode::OK);
    assert_eq!(statuses[5], StatusCode::SEE_OTHER, "{statuses:?}");
}

#[tokio::test]
async fn a_remember_me_cookie_copied_before_logout_no_longer_logs_in_after_it() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.browser();
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let remember = susan.login_remembered("susan", "correct horse").await;
    let before = app.get_with_only_remember_me("/index", &remember).await;
    assert_eq!(before.status(), StatusCode::OK, "the copy works");

    // Act
    susan.post("/auth/logout", &[]).await;

    // Assert
    let after = app.get_with_only_remember_me("/index", &remember).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(crate::helpers::location(&after).starts_with("/auth/login"));
}

#[tokio::test]
async fn a_login_survives_a_key_rotation_and_comes_back_sealed_with_the_new_key() {
    // Arrange: susan logs in under the old key
    let old_key = "the-old-secret-key-that-is-long-enough-012345";
    let old = spawn_app_with(&[("SECRET_KEY", old_key)]).await;
    let (_, copy) = logged_in_copy(&old).await;
    let database = old.settings.database_url.expose().to_string();
    let new_key = "the-new-secret-key-that-is-long-enough-678901";
    let rotated = spawn_app_with(&[
        ("DATABASE_URL", &database),
        ("SECRET_KEY", new_key),
        ("SECRET_KEY_FALLBACKS", old_key),
    ])
    .await;
    let new_only = spawn_app_with(&[("DATABASE_URL", &database), ("SECRET_KEY", new_key)]).await;
    assert_eq!(index_with(&new_only, &copy).await, StatusCode::SEE_OTHER);

    // Act
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/index", rotated.address))
        .header("Cookie", &copy)
        .send()
        .await
        .unwrap();

    // Assert: still logged in, and the cookie is resealed with the current key alone
    assert_eq!(response.status(), StatusCode::OK);
    let resealed = session_set_cookie(&response);
    assert!(resealed.contains("HttpOnly") && resealed.contains("Path=/"));
    let resealed = resealed.split(';').next().unwrap().to_string();
    assert_ne!(resealed, copy);
    assert_eq!(index_with(&new_only, &resealed).await, StatusCode::OK);
    assert_eq!(
        index_with(&rotated, "microblog_session=forged").await,
        StatusCode::SEE_OTHER
    );
}
