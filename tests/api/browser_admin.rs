//! The admin pages in a real browser: an admin finds a failure in the inbox, opens its group and
//! resolves it; the status page draws the lab's traffic in its charts. No console error and no
//! Content-Security-Policy violation on any of them.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use microblog::db::schema::error_groups;
use microblog::models::User;

use crate::browser::start;
use crate::failing_routes::spawn_failing_app;
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn an_admin_finds_a_failure_in_the_inbox_and_resolves_it() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let Some(browser) = start("inbox").await else {
        return;
    };
    browser.register_and_log_in(&app.address, "root").await;
    app.query(|conn| User::set_role(conn, "root", "admin").unwrap());
    let susan = app.logged_in("susan").await;
    susan.post("/test/missing/1", &[]).await;
    susan.post("/test/panic", &[]).await;
    let start = Instant::now();
    while app.query(|conn| error_groups::table.count().get_result::<i64>(conn).unwrap()) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the errors are counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = browser.console_errors().await;

    // Act: the navigation's count is the last one taken (every second)
    let mut inbox = String::new();
    let start = Instant::now();
    let listed = |page: &str| {
        page.contains("Errors (2 unresolved)")
            && page.contains("no user 1")
            && page.contains("A handler panicked")
    };
    // Under the whole suite's load a page may be a moment late (or a 503 that says so).
    while !listed(&inbox) && start.elapsed() < Duration::from_secs(15) {
        browser.open(&app.address, "/admin/errors").await;
        inbox = browser.html().await;
    }
    let inbox_errors = browser.console_errors().await;
    browser.screenshot("inbox").await;
    browser.press("a.error-title[href^='/admin/errors/']").await;
    let group = browser.html().await;
    let group_errors = browser.console_errors().await;
    browser.screenshot("group").await;
    browser.press("form[action$='/resolve'] button").await;
    let resolved = browser.html().await;
    let resolved_errors = browser.console_errors().await;

    // Assert
    assert!(inbox.contains("Errors (2 unresolved)"), "{inbox}");
    assert!(inbox.contains("no user 1") && inbox.contains("A handler panicked"));
    assert!(group.contains("Latest occurrences"), "{group}");
    assert!(resolved.contains("Resolved: a new occurrence will reopen it"));
    assert!(resolved.contains("badge-resolved"));
    assert!(
        resolved.contains("Errors (1 unresolved)"),
        "the count follows"
    );
    for errors in [inbox_errors, group_errors, resolved_errors] {
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[tokio::test]
async fn the_status_page_draws_the_labs_traffic_in_its_charts() {
    // Arrange
    let app = spawn_app_with(&[("ERROR_LAB", "1")]).await;
    let Some(browser) = start("status").await else {
        return;
    };
    browser.register_and_log_in(&app.address, "root").await;
    app.query(|conn| User::set_role(conn, "root", "admin").unwrap());
    let susan = app.logged_in("susan").await;
    for name in [
        "panic",
        "slow",
        "rate-limit",
        "rate-limit",
        "rate-limit",
        "rate-limit",
    ] {
        susan.post(&format!("/lab/{name}"), &[]).await;
    }
    let _ = browser.console_errors().await;

    // Act
    browser.open(&app.address, "/admin/status").await;
    let start = Instant::now();
    let mut html = browser.html().await;
    while !html.contains("data-drawn=") && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        html = browser.html().await;
    }
    let errors = browser.console_errors().await;
    browser.screenshot("status").await;

    // Assert
    assert!(
        html.contains("data-drawn=\""),
        "the charts are drawn: {html}"
    );
    let now = |series: &str| -> f64 {
        let marker = format!("data-series=\"{series}\"");
        let figure = &html[html.find(&marker).expect(series)..];
        let value = &figure[figure.find("chart-now\">").expect("a value") + 11..];
        value[..value.find('<').unwrap()]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(now("server_errors") >= 1.0, "the panic in 5xx");
    assert!(now("rate_limited") >= 1.0, "the fourth press refused");
    assert!(
        now("p99_ms") >= 256.0,
        "the slow experiment in p99: {}",
        now("p99_ms")
    );
    assert!(errors.is_empty(), "{errors:#?}");
}
