//! What a learner following the README meets: a login that never lands on a POST-only route,
//! error pages that know who is logged in, mails no input can forge a line in, the log viewer's
//! view of both files and of summary mails, one file per level, and a readable console.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{location, request_id, spawn_app};
use crate::process::{wait_for_outbox, TestProcess};

#[tokio::test]
async fn a_login_asked_for_by_a_lab_button_leads_back_to_the_lab_not_to_a_405() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act: db-error needs a login; the button was pressed on /lab.
    let response = browser
        .client
        .post(format!("{}/lab/db-error", app.address))
        .header("Referer", format!("{}/lab", app.address))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/auth/login?next=%2Flab");
}

#[tokio::test]
async fn a_login_from_a_post_without_a_referer_leads_home() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let response = browser.post("/lab/db-error", &[]).await;

    // Assert
    assert_eq!(location(&response), "/auth/login?next=%2Findex");
}

#[tokio::test]
async fn error_pages_show_the_navigation_of_the_logged_in_user() {
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;

    // Act
    let not_found = susan.get_html("/no/such/page").await;
    let wrong_method = susan
        .post("/lab/db-error/extra", &[])
        .await
        .text()
        .await
        .unwrap();
    let get_only = susan.get("/follow/someone").await;

    // Assert
    for page in [&not_found, &wrong_method, &get_only.text().await.unwrap()] {
        assert!(page.contains("href=\"/user/susan\""), "{page}");
        assert!(page.contains(">Logout</button>"));
        assert!(!page.contains("href=\"/auth/register\""));
    }
}

#[tokio::test]
async fn a_form_value_cannot_forge_a_line_in_the_error_mail() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();

    // Act
    let response = browser
        .post(
            "/lab/panic",
            &[(
                "note",
                "hello\r\n2026-11-21 ERROR forged line\r\nUser:     admin",
            )],
        )
        .await;

    // Assert
    let id = request_id(&response);
    let mails = wait_for_outbox(&app.log_dir).await;
    let (_, raw) = mails.first().expect("the error mail");
    let mail = quoted_printable::decode(raw, quoted_printable::ParseMode::Robust).unwrap();
    let mail = String::from_utf8_lossy(&mail);
    assert!(mail.contains(&format!("Error id: {id}")));
    assert!(
        mail.contains("note = hello\\r\\n2026-11-21 ERROR forged line\\r\\nUser:     admin"),
        "{mail}"
    );
    assert!(!mail
        .lines()
        .any(|line| line.starts_with("2026-11-21 ERROR forged")));
    assert_eq!(mail.lines().filter(|l| l.starts_with("User:")).count(), 1);
}

#[tokio::test]
async fn the_log_viewer_names_the_summary_mail_that_counted_a_repeat_without_its_body() {
    // Arrange: repeats within a second are held back and counted by a summary.
    let app = TestProcess::start(&[("ERROR_MAIL_INTERVAL", "1")]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;
    let first = request_id(&browser.post("/lab/panic", &[]).await);
    let start = std::time::Instant::now();
    while crate::process::all_files(&app.log_dir.join("mail")).is_empty()
        && start.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Two repeats: the summary reports the later one and counts both.
    let repeat = request_id(&browser.post("/lab/panic", &[]).await);
    browser.post("/lab/panic", &[]).await;
    app.wait_for("microblog.log", |t| {
        t.matches("Request completed").count() >= 4
    })
    .await;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let outbox = crate::process::all_files(&app.log_dir.join("mail"));
        if outbox.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Act
    let own = browser
        .get_html(&format!("/lab/logs?request_id={first}"))
        .await;
    let counted = browser
        .get_html(&format!("/lab/logs?request_id={repeat}"))
        .await;

    // Assert
    assert!(own.contains("Lines in errors.log"));
    assert_eq!(
        own.matches("Request failed").count(),
        2,
        "the error line, in microblog.log and in errors.log"
    );
    assert!(own.contains(&format!("Error id: {first}")));
    assert!(
        own.contains("\n        A handler panicked"),
        "the chain on lines of its own"
    );
    assert!(
        counted.contains("counted it"),
        "{}",
        &counted[counted.find("Error mail").unwrap_or(0)..]
    );
    let summary = crate::process::all_files(&app.log_dir.join("mail"))
        .into_iter()
        .find(|(_, mail)| {
            let decoded =
                quoted_printable::decode(mail, quoted_printable::ParseMode::Robust).unwrap();
            String::from_utf8_lossy(&decoded).contains(&format!("Counted: {repeat}"))
        })
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .expect("the summary mail");
    assert!(counted.contains(&summary), "the summary is named");
    assert!(
        !counted.contains("Summary: this mail counts") && !counted.contains(&first),
        "the summary reports another request: its body is not shown"
    );
}

#[tokio::test]
async fn split_level_files_each_hold_exactly_their_level() {
    // Arrange
    let app = TestProcess::start(&[("LOG_SPLIT_LEVELS", "1"), ("LOG_LEVEL", "info")]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    let id = request_id(&browser.post("/lab/log-levels", &[]).await);
    let error_log = app.wait_for("error.log", |t| t.contains(&id)).await;
    let warning_log = app.wait_for("warning.log", |t| t.contains(&id)).await;
    let info_log = app.wait_for("info.log", |t| t.contains(&id)).await;

    // Assert
    let only = |text: &str, level: &str| {
        !text.is_empty()
            && text
                .lines()
                .all(|line| line.split_whitespace().nth(1) == Some(level))
    };
    assert!(only(&error_log, "ERROR"), "{error_log}");
    assert!(only(&warning_log, "WARN"), "{warning_log}");
    assert!(only(&info_log, "INFO"), "{info_log}");
    assert!(info_log.contains("An INFO line") && !info_log.contains("A WARN line"));
    let all = app
        .wait_for("microblog.log", |t| t.contains("A WARN line"))
        .await;
    assert!(all.contains("A WARN line"), "microblog.log stays");
    let errors = app
        .wait_for("errors.log", |t| t.contains("An ERROR line"))
        .await;
    assert!(errors.contains("An ERROR line"), "errors.log stays");
}

#[tokio::test]
async fn with_debug_on_the_console_prints_an_errors_chain_over_several_lines() {
    // Arrange
    let app = TestProcess::start(&[("DEBUG", "1")]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    let id = request_id(&browser.post("/lab/panic", &[]).await);
    app.wait_for("microblog.log", |t| t.contains(&id)).await;
    let console = app
        .wait_for_console(|lines| lines.iter().any(|line| line.trim() == "Caused by:"))
        .await;

    // Assert
    assert!(
        console.iter().any(|line| line.trim() == "Caused by:"),
        "{console:#?}"
    );
    assert!(console.iter().any(|line| line
        .trim_start()
        .starts_with("A handler panicked at src/routes/lab/experiments.rs")));
    let file = app.read("microblog.log");
    assert!(
        !file.lines().any(|line| line.trim() == "Caused by:"),
        "files keep one line per event"
    );
}
