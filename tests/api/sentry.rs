//! Sentry beside the inbox: the events a real receiver decodes carry the chain, the redacted
//! request, the request id, the user id, the environment and the release; and a Sentry that
//! never answers slows no page and does not hold up shutdown.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::request_id;
use crate::process::TestProcess;
use crate::sentry_receiver::SentryReceiver;
use crate::smtp::start_hanging_server;

#[tokio::test]
async fn a_failure_reaches_sentry_with_its_request_id_and_user_id_and_no_secret() {
    // Arrange
    let sentry = SentryReceiver::start();
    let dsn = sentry.dsn();
    let app = spawn_failing_app(&[("SENTRY_DSN", &dsn), ("SENTRY_ENVIRONMENT", "staging")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let panicked = susan
        .post(
            "/test/panic?page=2&token=query-secret-owl",
            &[("password", "form-secret-owl"), ("post", "a-post-body-owl")],
        )
        .await;
    let failed = susan.post("/test/missing/7", &[]).await;
    let envelopes = sentry.wait_for_events(2).await;

    // Assert
    assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let events: Vec<&serde_json::Value> = envelopes.iter().flat_map(|e| &e.events).collect();
    assert_eq!(events.len(), 2, "{envelopes:#?}");
    let envelope = &envelopes[0];
    assert_eq!(envelope.path, "/api/42/envelope/");
    assert!(
        envelope.auth.contains("sentry_key=public-key"),
        "{}",
        envelope.auth
    );
    let panic = events
        .iter()
        .find(|event| event["tags"]["request_id"] == request_id(&panicked).as_str())
        .expect("the panic's event, tagged with its request id");
    let values = panic["exception"]["values"].as_array().unwrap();
    assert_eq!(
        values.last().unwrap()["value"],
        "An unexpected error has occurred."
    );
    assert!(values.iter().any(
        |v| v["type"] == "panic" && v["value"].as_str().unwrap().contains("A handler panicked")
    ));
    assert_eq!(
        panic["user"],
        serde_json::json!({"id": "1"}),
        "the id, never the email"
    );
    assert_eq!(panic["environment"], "staging");
    assert!(panic["release"].as_str().unwrap().starts_with("microblog@"));
    assert_eq!(panic["request"]["method"], "POST");
    assert!(panic["request"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/test/panic"));
    assert!(panic["request"]["query_string"]
        .as_str()
        .unwrap()
        .contains("page=2"));
    assert!(panic["request"]["data"]
        .as_str()
        .unwrap()
        .contains("post=%5Bredacted%5D"));
    let failure = events
        .iter()
        .find(|event| event["tags"]["request_id"] == request_id(&failed).as_str())
        .expect("the error's event");
    assert_eq!(failure["fingerprint"].as_array().unwrap().len(), 1);
    for envelope in &envelopes {
        for secret in [
            "query-secret-owl",
            "form-secret-owl",
            "susan@example.com",
            "microblog_session=",
            "a-post-body-owl",
        ] {
            assert!(
                !envelope.raw.contains(secret),
                "{secret} in {}",
                envelope.raw
            );
        }
    }
}

#[tokio::test]
async fn a_sentry_that_never_answers_slows_no_page_and_shutdown_ends_in_time() {
    // Arrange
    let port = start_hanging_server();
    let dsn = format!("http://public-key@127.0.0.1:{port}/42");
    let mut app = TestProcess::start(&[("SENTRY_DSN", &dsn), ("SHUTDOWN_TIMEOUT", "5")]);
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act: more failures than the SDK's queue holds, each sent to a Sentry that hangs
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let start = Instant::now();
        let response = browser
            .client
            .post(format!("{}/lab/panic", app.address))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        slowest = slowest.max(start.elapsed());
    }
    let page = Instant::now();
    let explore = browser.get("/explore").await;
    let page_took = page.elapsed();
    let stop = Instant::now();
    app.terminate();
    let status = tokio::task::spawn_blocking(move || app.wait_for_exit())
        .await
        .unwrap();
    let stop_took = stop.elapsed();

    // Assert
    assert_eq!(explore.status(), StatusCode::OK);
    assert!(
        slowest < Duration::from_millis(500),
        "slowest failure {slowest:?}"
    );
    assert!(
        page_took < Duration::from_millis(500),
        "a page {page_took:?}"
    );
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(
        stop_took < Duration::from_secs(5),
        "shutdown took {stop_took:?}"
    );
}
