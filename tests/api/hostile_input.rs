//! Input a stranger chooses: control characters, look-alike names, raw bytes in the Host, JSON
//! of the wrong shape, races on one token. Each gets a clear answer, the same on both databases,
//! and never a 500.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{location, spawn_app};
use crate::process::TestProcess;

#[tokio::test]
async fn a_nul_byte_anywhere_is_a_400_that_leaves_no_error_line() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    let client = reqwest::Client::new();

    // Act
    let mut statuses = vec![
        browser.get("/search?q=%00").await.status(),
        browser.get("/user/alice%00").await.status(),
        browser.get("/explore?page=1%0A").await.status(),
        browser
            .post(
                "/auth/login",
                &[("username", "alice\0"), ("password", "correct horse")],
            )
            .await
            .status(),
    ];
    let json = client
        .post(format!("{}/api/users", app.address))
        .json(&json!({"username": "alice", "email": "a@example.com", "password": "pass\u{0}word"}))
        .send()
        .await
        .unwrap();
    statuses.push(json.status());
    let problem: Value = json.json().await.unwrap();
    // The content type's case, or a `+json` type, changes nothing.
    for content_type in ["APPLICATION/JSON", "application/problem+json"] {
        let shouted = client
            .post(format!("{}/api/users", app.address))
            .header("Content-Type", content_type)
            .body(
                r#"{"username": "alice", "email": "a@example.com", "password": "pass\u0000word"}"#,
            )
            .send()
            .await
            .unwrap();
        statuses.push(shouted.status());
    }

    // Assert
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("control character"));
    app.wait_for("microblog.log", |text| {
        text.matches("Request completed").count() >= 8
    })
    .await;
    assert_eq!(app.read("errors.log").trim(), "", "no ERROR line");
}

#[tokio::test]
async fn search_finds_posts_regardless_of_case() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    susan.publish("hello from the lake").await;

    // Act
    let html = susan.get_html("/search?q=HELLO").await;

    // Assert
    assert!(html.contains("hello from the lake"), "{html}");
}

#[tokio::test]
async fn a_look_alike_username_is_refused_before_any_password_check() {
    // Arrange: PostgreSQL's lower() folds a capital dotted I to "i"
    let app = spawn_app().await;
    let alice = app.browser();
    alice
        .register("alice", "alice@example.com", "correct horse")
        .await;

    // Act
    let response = app.browser().login("al\u{130}ce", "correct horse").await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Invalid username or password."));
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_once_even_when_requests_race() {
    // Arrange
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    app.browser()
        .register("susan", "susan@example.com", "correct horse")
        .await;
    let tokens = app.api_tokens("susan").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // Act
    let races = (0..8).map(|_| {
        client
            .post(format!("{}/api/tokens/refresh", app.address))
            .json(&json!({ "refresh_token": refresh }))
            .send()
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(races)
        .await
        .into_iter()
        .map(|response| response.unwrap().status())
        .collect();

    // Assert
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn a_host_header_with_a_raw_non_ascii_byte_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let port = app.port;

    // Act: a byte no client library will send, so a raw socket
    let status_line = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /explore HTTP/1.1\r\nHost: localhost\xff\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    })
    .await
    .unwrap();

    // Assert
    assert!(status_line.contains(" 400 "), "{status_line}");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_400_that_names_no_rust_type() {
    // Arrange
    let app = spawn_app().await;
    let client = reqwest::Client::new();

    // Act
    let response = client
        .post(format!("{}/api/users", app.address))
        .header("Content-Type", "application/json")
        .body("\"just a string\"")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let detail = response.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("expected a JSON object"), "{detail}");
    assert!(
        !detail.contains("NewUserIn") && !detail.contains("struct"),
        "{detail}"
    );
}

#[tokio::test]
async fn after_login_next_never_leads_to_a_page_that_cannot_be_fetched() {
    // Arrange
    let app = spawn_app().await;
    app.browser()
        .register("susan", "susan@example.com", "correct horse")
        .await;

    for (next, expected) in [
        ("/lab/db-error", "/index"),
        ("/auth/logout", "/index"),
        ("/follow/susan", "/index"),
        ("/api/users", "/index"),
        ("/user/susan?page=2", "/user/susan?page=2"),
        ("/no/such/page", "/no/such/page"),
    ] {
        // Act
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        let response = app
            .browser()
            .post(
                &format!("/auth/login?{query}"),
                &[("username", "susan"), ("password", "correct horse")],
            )
            .await;

        // Assert
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), expected, "{next}");
    }
}
