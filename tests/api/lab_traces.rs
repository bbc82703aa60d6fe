//! The lab's promises about what each experiment leaves behind: log lines with the request id,
//! mails (or none), and a log viewer that shows them escaped.

use std::time::Duration;

use crate::helpers::{request_id, spawn_app_with};
use crate::process::{wait_for_outbox, TestProcess};
use crate::smtp::{body_of, subject_of, SmtpServer};

#[tokio::test]
async fn each_experiment_leaves_its_documented_log_line() {
    // Arrange
    let app = TestProcess::start(&[("LOG_LEVEL", "info")]);
    let browser = app.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser.login("susan", "correct horse").await;
    // (experiment, level, phrase, also in errors.log)
    let expected = [
        (
            "panic",
            "ERROR",
            "A handler panicked at src/routes/lab/experiments.rs",
            true,
        ),
        ("db-error", "ERROR", "users_username_key", true),
        ("not-found", "INFO", "Request refused status=404", false),
        ("bad-input", "INFO", "Request refused status=400", false),
        (
            "file-not-found",
            "WARN",
            "file=static/reports/missing.csv",
            false,
        ),
        ("template-error", "ERROR", "missing_variable", true),
        ("external-api", "WARN", "An external service failed", false),
        ("slow", "ERROR", "deadline", true),
        ("mail-down", "ERROR", "A mail could not be sent", true),
        ("forbidden", "INFO", "Request refused status=403", false),
    ];

    for (name, level, phrase, in_errors_log) in expected {
        // Act
        let id = request_id(&browser.post(&format!("/lab/{name}"), &[]).await);

        // Assert
        let log = app
            .wait_for("microblog.log", |t| {
                t.contains("Request completed") && t.contains(&id) && t.contains(phrase)
            })
            .await;
        let line = log
            .lines()
            .find(|l| l.contains(&id) && l.contains(phrase))
            .unwrap_or_else(|| panic!("{name}: no line with {phrase:?} and the request id"));
        assert!(line.contains(&format!(" {level} ")), "{name}: {line}");
        assert!(
            line.contains("user_id=1"),
            "{name}: the user is on the line"
        );
        // Each file has its own writer thread: wait for errors.log when the line belongs there.
        let errors = if in_errors_log {
            app.wait_for("errors.log", |t| t.contains(&id)).await
        } else {
            app.read("errors.log")
        };
        assert_eq!(errors.contains(&id), in_errors_log, "{name} in errors.log");
    }
}

#[tokio::test]
async fn log_levels_reach_the_files_their_level_allows() {
    // Arrange
    let app = TestProcess::start(&[("LOG_LEVEL", "info")]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    let response = browser.post("/lab/log-levels", &[]).await;
    let id = request_id(&response);
    let page = response.text().await.unwrap();

    // Assert
    // This request's own access line comes last: by then its other lines are written.
    let log = app
        .wait_for("microblog.log", |t| {
            t.lines()
                .any(|line| line.contains(&id) && line.contains("Request completed"))
        })
        .await;
    let ours: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&id) && l.contains("experiment=log-levels"))
        .collect();
    assert_eq!(
        ours.len(),
        3,
        "INFO, WARN and ERROR at LOG_LEVEL=info: {ours:?}"
    );
    let errors = app.wait_for("errors.log", |t| t.contains(&id)).await;
    assert_eq!(
        errors.lines().filter(|l| l.contains(&id)).count(),
        1,
        "only the ERROR line"
    );
    assert!(page.contains("filtered out by LOG_LEVEL=info"));
}

#[tokio::test]
async fn a_background_failure_is_logged_with_its_task_and_no_request_id() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    browser.post("/lab/background-task", &[]).await;

    // Assert
    let errors = app
        .wait_for("errors.log", |t| t.contains("Job failed for the last time"))
        .await;
    let line = errors
        .lines()
        .find(|l| l.contains("Job failed for the last time"))
        .expect("the line");
    assert!(line.contains("kind=lab-cleanup"), "{line}");
    assert!(!line.contains("request_id="), "{line}");
}

#[tokio::test]
async fn experiments_send_mails_exactly_as_their_cards_say() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_app_with(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("ERROR_MAIL_INTERVAL", "0"),
        ("ERROR_MAILS_PER_MINUTE", "100"),
    ])
    .await;
    app.logged_in("john").await;
    let susan = app.logged_in("susan").await;
    let mut ids = Vec::new();

    // Act
    for name in [
        "panic",
        "db-error",
        "not-found",
        "file-not-found",
        "template-error",
        "external-api",
        "slow",
        "background-task",
        "mail-down",
        "log-levels",
        "forbidden",
    ] {
        ids.push((
            name,
            request_id(&susan.post(&format!("/lab/{name}"), &[]).await),
        ));
    }
    let mails = smtp.wait_for(4, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if smtp.messages().len() > mails.len() {
        smtp.messages()
    } else {
        mails
    };

    // Assert: the 500s and the background task, nothing else
    assert_eq!(
        mails.len(),
        4,
        "{:?}",
        mails.iter().map(|m| subject_of(m)).collect::<Vec<_>>()
    );
    let bodies: Vec<String> = mails.iter().map(|m| body_of(m)).collect();
    for (name, id) in &ids {
        let mailed = bodies.iter().any(|body| body.contains(id.as_str()));
        let expected = matches!(*name, "panic" | "db-error" | "template-error");
        assert_eq!(mailed, expected, "{name}");
    }
    let task = bodies
        .iter()
        .find(|b| b.contains("Task:     job lab-cleanup"))
        .expect("the task's mail");
    assert!(task.contains("Error id: (outside any request)"));
}

#[tokio::test]
async fn the_log_viewer_shows_a_requests_lines_and_mail_escaped() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;
    let id = request_id(
        &browser
            .post("/lab/panic", &[("note", "<script>alert(1)</script>")])
            .await,
    );
    app.wait_for("microblog.log", |t| {
        t.lines()
            .any(|line| line.contains(&id) && line.contains("Request completed"))
    })
    .await;
    wait_for_outbox(&app.log_dir).await;

    // Act
    let html = browser
        .get_html(&format!("/lab/logs?request_id={id}"))
        .await;

    // Assert
    assert!(html.contains("Request completed"), "the access line");
    assert!(html.contains("A handler panicked"), "the error line");
    assert!(html.contains(&format!("Error id: {id}")), "the mail");
    assert!(
        html.contains("note = &lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!html.contains("<script>alert(1)"));
}
