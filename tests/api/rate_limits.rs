//! Rate limits: our 429 page (or a problem document) with Retry-After, per client address and
//! per account or address, believed from X-Forwarded-For only behind TRUSTED_PROXIES.

use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, Browser, TestApp};
use crate::process::TestProcess;

async fn login_as(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let browser = app.browser();
    let token = browser.csrf_token().await;
    let mut request = browser
        .client
        .post(format!("{}/auth/login", app.address))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf_token", &token),
        ]);
    if let Some(forwarded) = forwarded {
        request = request.header("X-Forwarded-For", forwarded);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_client_over_the_login_limit_gets_our_429_page_with_retry_after() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_CLIENT", "3")]).await;

    // Act
    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(
            login_as(&app, &format!("nobody{n}"), "wrong password", None)
                .await
                .status(),
        );
    }
    let limited = login_as(&app, "nobody9", "wrong password", None).await;

    // Assert
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(limited.text().await.unwrap().contains("Too many requests"));
}

#[tokio::test]
async fn a_json_client_over_the_limit_gets_a_429_problem_document() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_CLIENT", "1")]).await;
    login_as(&app, "nobody", "wrong password", None).await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act
    let response = browser
        .client
        .post(format!("{}/auth/login", app.address))
        .header("Accept", "application/json")
        .form(&[
            ("username", "nobody"),
            ("password", "x"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 429);
}

#[tokio::test]
async fn once_an_account_is_limited_even_the_right_password_is_refused() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3")]).await;
    app.browser()
        .register("susan", "susan@example.com", "correct horse")
        .await;
    for _ in 0..3 {
        login_as(&app, "susan", "wrong password", None).await;
    }

    // Act
    let right = login_as(&app, "SUSAN", "correct horse", None).await;

    // Assert
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right
        .cookies()
        .all(|cookie| cookie.name() != "remember_token"));
}

#[tokio::test]
async fn registration_and_reset_requests_are_limited_per_client_and_per_address() {
    // Arrange
    let app = spawn_app_with(&[
        ("RATE_LIMIT_REGISTER_PER_CLIENT", "2"),
        ("RATE_LIMIT_RESET_PER_EMAIL", "1"),
    ])
    .await;
    let browser = app.browser();

    // Act
    let mut registrations = Vec::new();
    for name in ["ann", "bob", "cat"] {
        registrations.push(
            browser
                .register(name, &format!("{name}@example.com"), "correct horse")
                .await
                .status(),
        );
    }
    let reset = |email: &'static str, browser: Browser| async move {
        browser
            .post("/auth/reset_password_request", &[("email", email)])
            .await
            .status()
    };
    let first = reset("ann@example.com", app.browser()).await;
    let again = reset("ANN@example.com", app.browser()).await;
    let other = reset("bob@example.com", app.browser()).await;

    // Assert
    assert_eq!(
        registrations,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(first, StatusCode::SEE_OTHER);
    assert_eq!(
        again,
        StatusCode::TOO_MANY_REQUESTS,
        "the same address, in any case"
    );
    assert_eq!(other, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn x_forwarded_for_counts_per_client_only_behind_a_trusted_proxy() {
    // Arrange
    let trusting = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN_PER_CLIENT", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let distrusting = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_CLIENT", "1")]).await;

    // Act
    let mut trusted = Vec::new();
    let mut untrusted = Vec::new();
    for client in ["203.0.113.1", "203.0.113.2"] {
        trusted.push(
            login_as(&trusting, "nobody", "x", Some(client))
                .await
                .status(),
        );
        untrusted.push(
            login_as(&distrusting, "nobody", "x", Some(client))
                .await
                .status(),
        );
    }

    // Assert
    assert_eq!(
        trusted,
        [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
    );
    assert_eq!(
        untrusted,
        [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn rate_limits_0_turns_every_limit_off() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMITS", "0"), ("RATE_LIMIT_LOGIN_PER_CLIENT", "1")]).await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(login_as(&app, "nobody", "x", None).await.status());
    }

    // Assert
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_limited_burst_leaves_one_warn_line_and_the_lab_shows_it() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act: three allowed presses, then a burst of refused ones
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(browser.post("/lab/rate-limit", &[]).await.status());
    }
    let log = app
        .wait_for("microblog.log", |text| {
            text.matches("Request completed").count() >= 9
        })
        .await;

    // Assert
    assert_eq!(&statuses[..3], [StatusCode::OK; 3]);
    assert!(
        statuses[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(log.matches("Rate limit reached").count(), 1, "{log}");
    assert!(!log.contains("Request refused"), "no line per refusal");
    assert!(
        app.read("errors.log").is_empty(),
        "a limit doing its job is not an error"
    );
}
