use reqwest::StatusCode;

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn registering_then_logging_in_leads_to_the_home_page() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let registered = browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let logged_in = browser.login("susan", "correct horse").await;

    // Assert
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&registered), "/auth/login");
    assert_eq!(logged_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&logged_in), "/index");
    let home = browser.get_html("/index").await;
    assert!(home.contains("Hi, susan!"), "{home}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_message() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();

    // Act
    let wrong_password = browser.login("susan", "wrong password").await;
    let wrong_status = wrong_password.status();
    let wrong_password = wrong_password.text().await.unwrap();
    let unknown_user = browser
        .login("nobody", "wrong password")
        .await
        .text()
        .await
        .unwrap();

    // Assert
    assert_eq!(wrong_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_password.contains("Invalid username or password."));
    assert!(unknown_user.contains("Invalid username or password."));
    assert!(
        wrong_password.contains("value=\"susan\""),
        "the username is kept"
    );
    assert_eq!(browser.get("/index").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_home_page_requires_login_and_comes_back_after_it() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();

    // Act
    let anonymous = browser.get("/index?page=2").await;
    let login_page = browser.get_html(&location(&anonymous)).await;
    let logged_in = browser
        .post(
            "/auth/login?next=%2Findex%3Fpage%3D2",
            &[("username", "susan"), ("password", "correct horse")],
        )
        .await;

    // Assert
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/auth/login?next=%2Findex%3Fpage%3D2");
    assert!(login_page.contains("Please log in to access this page."));
    assert_eq!(location(&logged_in), "/index?page=2");
}

#[tokio::test]
async fn login_never_redirects_off_the_site() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let hostile = [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/\t/evil.example",
        "/\u{0}evil",
        "/ok\r\nSet-Cookie: a=b",
    ];

    for next in hostile {
        // Act
        let browser = app.browser();
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        let response = browser
            .post(
                &format!("/auth/login?{query}"),
                &[("username", "susan"), ("password", "correct horse")],
            )
            .await;

        // Assert: control characters are refused before the login; the rest lead home
        if next.chars().any(char::is_control) {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{next:?}");
            continue;
        }
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(
            location(&response),
            "/index",
            "{next:?} must not be followed"
        );
    }
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;

    // Act
    let response = browser.post("/auth/logout", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/index").await.status(), StatusCode::SEE_OTHER);
    let login = browser.get_html("/auth/login").await;
    assert!(login.contains("You have been logged out."));
}

#[tokio::test]
async fn logging_out_needs_a_csrf_token() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;

    // Act
    let response = browser.post_raw("/auth/logout", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/index").await.status(),
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn registering_a_taken_username_in_another_case_shows_a_form_error() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();

    // Act
    let response = browser
        .register("SUSAN", "other@example.com", "correct horse")
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Please use a different username."));
    assert!(html.contains("value=\"SUSAN\""), "the input is kept");
    assert!(html.contains("value=\"other@example.com\""));
}

#[tokio::test]
async fn registering_a_taken_email_shows_a_form_error() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();

    // Act
    let response = browser
        .register("john", "Susan@Example.com", "correct horse")
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Please use a different email address."));
}

#[tokio::test]
async fn registration_rules_are_shown_next_to_the_fields() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let response = browser
        .post(
            "/auth/register",
            &[
                ("username", "bad name"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password2", "other"),
            ],
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Use only letters, numbers, dots, dashes and underscores."));
    assert!(html.contains("Please enter a valid email address."));
    assert!(html.contains("Use a password of 8 to 128 characters."));
    assert!(html.contains("The passwords do not match."));
    assert!(!html.contains("short"), "passwords are never echoed back");
}

#[tokio::test]
async fn remember_me_keeps_the_user_logged_in_after_the_browser_closes() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    let browser = app.browser();

    // Act
    let remember = browser.login_remembered("susan", "correct horse").await;
    let home = app.get_with_only_remember_me("/index", &remember).await;
    let tampered = app
        .get_with_only_remember_me("/index", &format!("1{remember}"))
        .await;

    // Assert
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(tampered.status(), StatusCode::SEE_OTHER);
}
