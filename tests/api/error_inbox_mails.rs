//! The error inbox and the mails: a resolved error that comes back is a regression, mailed at
//! once; a muted one is counted and never mailed; the lab's regression does both in two presses.

use std::time::Duration;

use reqwest::StatusCode;

use crate::error_inbox::{admin, groups_counting};
use crate::failing_routes::spawn_failing_app;
use crate::helpers::location;
use crate::smtp::{body_of, subject_of, SmtpServer};

#[tokio::test]
async fn a_resolved_error_that_comes_back_is_reopened_and_mailed_as_a_regression() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_failing_app(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("ADMINS", "admin@example.com"),
    ])
    .await;
    let root = admin(&app, "root").await;
    root.post("/test/error", &[]).await;
    let first = smtp.wait_for(1, Duration::from_secs(10)).await;
    let id = groups_counting(&app, 1).await[0].0.clone();

    // Act
    let resolved = root.post(&format!("/admin/errors/{id}/resolve"), &[]).await;
    let after_resolve = groups_counting(&app, 1).await;
    root.post("/test/error", &[]).await;
    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    let after_return = groups_counting(&app, 2).await;

    // Assert
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resolved), format!("/admin/errors/{id}"));
    assert_eq!(after_resolve[0].3, "resolved");
    assert!(subject_of(&first[0]).starts_with("Microblog Failure: "));
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        subject_of(&mails[1]).starts_with("Microblog Regression: "),
        "{}",
        mails[1]
    );
    let body = body_of(&mails[1]);
    assert!(body.contains(&format!("{}/admin/errors/{id}", app.settings.server_url)));
    assert!(
        body.contains("Regression: this error was resolved"),
        "{body}"
    );
    assert_eq!(after_return[0].3, "unresolved");
}

#[tokio::test]
async fn a_muted_error_sends_no_mail_and_its_count_goes_on() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_failing_app(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("ADMINS", "admin@example.com"),
        ("ERROR_MAIL_INTERVAL", "0"),
    ])
    .await;
    let root = admin(&app, "root").await;
    root.post("/test/error", &[]).await;
    smtp.wait_for(1, Duration::from_secs(10)).await;
    let id = groups_counting(&app, 1).await[0].0.clone();

    // Act
    let muted = root.post(&format!("/admin/errors/{id}/mute"), &[]).await;
    for _ in 0..3 {
        root.post("/test/error", &[]).await;
    }
    let groups = groups_counting(&app, 4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Assert
    assert_eq!(muted.status(), StatusCode::SEE_OTHER);
    assert_eq!((groups[0].2, groups[0].3.as_str()), (4, "muted"));
    assert_eq!(smtp.messages().len(), 1, "only the first, before muting");
}

#[tokio::test]
async fn the_labs_regression_reopens_its_group_and_mails_a_regression() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = crate::helpers::spawn_app_with(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("ADMINS", "admin@example.com"),
        ("ERROR_LAB", "1"),
    ])
    .await;
    let root = admin(&app, "root").await;
    root.post("/lab/regression", &[]).await;
    groups_counting(&app, 1).await;

    // Act
    let again = root.post("/lab/regression", &[]).await;
    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    let groups = groups_counting(&app, 2).await;

    // Assert
    assert_eq!(again.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0].2, groups[0].3.as_str()), (2, "unresolved"));
    assert!(subject_of(&mails[0]).starts_with("Microblog Failure: "));
    assert!(
        subject_of(&mails[1])
            .starts_with("Microblog Regression: Failed to show the lab's regression"),
        "{}",
        subject_of(&mails[1])
    );
}
