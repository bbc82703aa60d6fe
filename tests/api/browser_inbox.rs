//! The error inbox in a real browser: an admin finds a failure, opens its group and resolves
//! it, with no console error or Content-Security-Policy violation on either page.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use microblog::db::schema::error_groups;
use microblog::models::User;

use crate::browser::start;
use crate::failing_routes::spawn_failing_app;

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
    while !inbox.contains("Errors (2 unresolved)") && start.elapsed() < Duration::from_secs(5) {
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
