//! The client's address, as rate limits and logs see it: canonical, so a dual-stack listener
//! (`HOST=::`) keeps IPv4 clients apart and recognises an IPv4 proxy.

use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, Browser, TestApp};

/// One failed login from a browser whose connections come from `source`.
async fn failed_login_from(app: &TestApp, source: &str, forwarded: Option<&str>) -> StatusCode {
    let browser = Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(source.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap(),
        address: app.address.clone(),
    };
    let token = browser.csrf_token().await;
    let mut request = browser
        .client
        .post(format!("{}/auth/login", app.address))
        .form(&[
            ("username", "nobody"),
            ("password", "wrong password"),
            ("csrf_token", &token),
        ]);
    if let Some(forwarded) = forwarded {
        request = request.header("X-Forwarded-For", forwarded);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn ipv4_clients_of_a_dual_stack_listener_each_have_their_own_limit() {
    // Arrange: listening on `::`, where IPv4 clients arrive as ::ffff:a.b.c.d
    let app = spawn_app_with(&[
        ("HOST", "::"),
        ("RATE_LIMIT_LOGIN_PER_CLIENT", "2"),
        ("RATE_LIMIT_LOGIN_PER_ACCOUNT", "100"),
    ])
    .await;
    for _ in 0..2 {
        failed_login_from(&app, "127.0.0.1", None).await;
    }

    // Act
    let same_client = failed_login_from(&app, "127.0.0.1", None).await;
    let other_client = failed_login_from(&app, "127.0.0.2", None).await;

    // Assert
    assert_eq!(same_client, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other_client, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_trusted_proxy_on_a_dual_stack_listener_is_recognised() {
    // Arrange: the proxy is 127.0.0.1, which the listener sees as ::ffff:127.0.0.1
    let app = spawn_app_with(&[
        ("HOST", "::"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_LOGIN_PER_CLIENT", "2"),
        ("RATE_LIMIT_LOGIN_PER_ACCOUNT", "100"),
    ])
    .await;
    for _ in 0..2 {
        failed_login_from(&app, "127.0.0.1", Some("203.0.113.7")).await;
    }

    // Act
    let same_client = failed_login_from(&app, "127.0.0.1", Some("203.0.113.7")).await;
    let other_client = failed_login_from(&app, "127.0.0.1", Some("203.0.113.8")).await;

    // Assert
    assert_eq!(same_client, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other_client, StatusCode::UNPROCESSABLE_ENTITY);
}
