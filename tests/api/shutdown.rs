//! Stopping well, and logging for a platform: SIGTERM drains (readiness fails at once, requests in
//! flight finish, the process exits 0), and LOG_TO_STDOUT writes JSON lines to stdout only.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::request_id;
use crate::process::TestProcess;

#[tokio::test]
async fn sigterm_fails_readiness_lets_the_request_in_flight_finish_and_exits_0() {
    // Arrange: one client with an open keep-alive connection, one with a slow request
    let mut app = TestProcess::start(&[]);
    let watcher = app.browser();
    assert_eq!(watcher.get("/readyz").await.status(), StatusCode::OK);
    let slow_browser = app.browser();
    let token = slow_browser.csrf_token().await;
    let slow = {
        let client = slow_browser.client.clone();
        let url = format!("{}/lab/slow", app.address);
        tokio::spawn(async move { client.post(url).form(&[("csrf_token", token)]).send().await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;

    // Act
    app.terminate();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = watcher.get("/readyz").await;
    let finished = slow
        .await
        .unwrap()
        .expect("the request in flight is answered");
    let status = tokio::task::spawn_blocking(move || app.wait_for_exit())
        .await
        .unwrap();

    // Assert
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers()["connection"], "close");
    assert!(!request_id(&finished).is_empty());
    assert!(
        finished
            .text()
            .await
            .unwrap()
            .contains("temporarily unavailable"),
        "our page, complete"
    );
    assert!(status.is_some_and(|status| status.success()), "{status:?}");
}

#[tokio::test]
async fn log_to_stdout_writes_one_json_object_per_line_and_no_files() {
    // Arrange
    let app = TestProcess::start(&[("LOG_TO_STDOUT", "1"), ("LOG_FORMAT", "json")]);

    // Act
    let id = request_id(&app.browser().get("/explore").await);
    let console = app
        .wait_for_console(|lines| {
            lines
                .iter()
                .any(|line| line.contains(&id) && line.contains("Request completed"))
        })
        .await;

    // Assert
    let lines: Vec<serde_json::Value> = console
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(lines
        .iter()
        .any(|line| line["request_id"] == id.as_str() && line["message"] == "Request completed"));
    assert!(!app.log_dir.join("microblog.log").exists(), "no files");
}
