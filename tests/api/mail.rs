//! Error mails and reset mails, received by a real SMTP server running inside the test.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{location, request_id, TestApp};
use crate::process::wait_for_outbox;
use crate::smtp::{body_of, reset_link_path, start_hanging_server, subject_of, SmtpServer};

async fn app_mailing_to(smtp_port: u16, more: &[(&str, &str)]) -> TestApp {
    let port = smtp_port.to_string();
    let mut vars = vec![
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", port.as_str()),
        ("ADMINS", "admin@example.com,ops@example.com"),
    ];
    vars.extend_from_slice(more);
    spawn_failing_app(&vars).await
}

#[tokio::test]
async fn a_500_mails_the_admins_with_the_id_request_user_and_chain_but_no_secrets() {
    // Arrange
    let smtp = SmtpServer::start();
    let app = app_mailing_to(smtp.port, &[]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let response = susan
        .post(
            "/test/panic?page=2&token=query-secret",
            &[("password", "form-secret-owl")],
        )
        .await;
    let id = request_id(&response);
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;

    // Assert
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        subject_of(mail).starts_with("Microblog Failure: A handler panicked at"),
        "{mail}"
    );
    assert!(mail.contains("admin@example.com") && mail.contains("ops@example.com"));
    let body = body_of(mail);
    for expected in [
        format!("Error id: {id}"),
        "Request:  POST /test/panic?page=2&token=%5Bredacted%5D".to_string(),
        "User:     susan (id 1)".to_string(),
        "Client:   127.0.0.1".to_string(),
        "Caused by:".to_string(),
        "cookie: [redacted]".to_string(),
        "password = [redacted]".to_string(),
        "Time:".to_string(),
        "A handler panicked at tests/api/failing_routes.rs".to_string(),
    ] {
        assert!(body.contains(&expected), "{expected:?} in\n{body}");
    }
    assert!(!body.contains("form-secret-owl") && !body.contains("query-secret"));
    assert!(!body.contains("microblog_session="));
}

#[tokio::test]
async fn with_debug_on_no_error_mail_is_sent() {
    // Arrange
    let smtp = SmtpServer::start();
    let app = app_mailing_to(smtp.port, &[("DEBUG", "1")]).await;
    let browser = app.browser();

    // Act
    browser.post("/test/panic", &[]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Assert
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn without_a_mail_server_error_mails_are_written_to_the_outbox() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let browser = app.browser();

    // Act
    let id = request_id(&browser.post("/test/panic", &[]).await);

    // Assert
    let files = wait_for_outbox(&app.log_dir).await;
    assert_eq!(files.len(), 1);
    assert!(files[0].0.extension().is_some_and(|e| e == "eml"));
    assert!(body_of(&files[0].1).contains(&format!("Error id: {id}")));
}

#[tokio::test]
async fn a_hanging_mail_server_does_not_slow_any_page() {
    // Arrange: a server that accepts and never answers, and a long SMTP timeout
    let port = start_hanging_server();
    let app = app_mailing_to(
        port,
        &[
            ("MAIL_TIMEOUT", "30"),
            ("ERROR_MAIL_INTERVAL", "0"),
            ("ERROR_MAILS_PER_MINUTE", "1000"),
        ],
    )
    .await;
    let browser = app.browser();

    // Act: more failures that each want a mail than the queue holds, then ordinary pages
    let start = Instant::now();
    for _ in 0..60 {
        let response = browser.post("/test/panic", &[]).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    for _ in 0..20 {
        assert_eq!(browser.get("/explore").await.status(), StatusCode::OK);
    }

    // Assert: nothing waited for the 30 s timeout
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn five_hundred_identical_failures_send_a_handful_of_mails_whose_counts_add_up() {
    // Arrange
    let smtp = SmtpServer::start();
    let app = app_mailing_to(smtp.port, &[("ERROR_MAIL_INTERVAL", "1")]).await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act
    let mut handles = Vec::new();
    for _ in 0..10 {
        let client = browser.client.clone();
        let url = format!("{}/test/panic", app.address);
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..50 {
                let response = client
                    .post(&url)
                    .form(&[("csrf_token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    // Repeats after the last mail are summarised once the interval has passed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails = smtp.messages();

    // Assert
    let counts: Vec<u64> = mails
        .iter()
        .map(|mail| {
            let body = body_of(mail);
            // A mail of a new occurrence, or a summary of held-back ones: each says so first.
            let count = ["This error occurred ", "Summary: this mail counts "]
                .iter()
                .find_map(|opening| body.split(opening).nth(1))
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok());
            count.unwrap_or_else(|| panic!("no count in {body}"))
        })
        .collect();
    assert!(
        !mails.is_empty() && mails.len() <= 10,
        "{} mails",
        mails.len()
    );
    assert_eq!(counts.iter().sum::<u64>(), 500, "{counts:?}");
}

#[tokio::test]
async fn a_password_reset_mail_carries_a_link_that_works_once() {
    // Arrange
    let smtp = SmtpServer::start();
    let app = app_mailing_to(smtp.port, &[]).await;
    app.logged_in("susan").await;
    let browser = app.browser();
    let remember_token = app
        .browser()
        .login_remembered("susan", "correct horse")
        .await;

    // Act: ask for the link
    let asked = browser
        .post(
            "/auth/reset_password_request",
            &[("email", "susan@example.com")],
        )
        .await;
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;

    // Assert
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: susan@example.com"));
    let body = body_of(&mails[0]);
    let path = reset_link_path(&body);
    assert!(body.contains(&format!("{}{path}", app.settings.server_url)));

    // Act: use it
    assert_eq!(browser.get(&path).await.status(), StatusCode::OK);
    let reset = browser
        .post(
            &path,
            &[
                ("password", "new password!"),
                ("password2", "new password!"),
            ],
        )
        .await;

    // Assert
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    let login = browser.login("susan", "new password!").await;
    assert_eq!(login.headers()["location"], "/index");
    let again = app.browser().get(&path).await;
    assert_eq!(
        again.headers()["location"],
        "/auth/reset_password_request",
        "the link works once"
    );
    let old_cookie = app
        .get_with_only_remember_me("/index", &remember_token)
        .await;
    assert_eq!(
        old_cookie.status(),
        StatusCode::SEE_OTHER,
        "a new password revokes remember-me"
    );
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    // Arrange
    let smtp = SmtpServer::start();
    let app = app_mailing_to(smtp.port, &[]).await;
    app.logged_in("susan").await;
    let stranger = app.browser();
    let susan = app.browser();

    // Act
    let unknown = stranger
        .post(
            "/auth/reset_password_request",
            &[("email", "nobody@example.com")],
        )
        .await;
    let known = susan
        .post(
            "/auth/reset_password_request",
            &[("email", "susan@example.com")],
        )
        .await;

    // Assert
    assert_eq!(unknown.status(), StatusCode::SEE_OTHER);
    assert_eq!(known.status(), unknown.status(), "the same answer");
    assert_eq!(known.headers()["location"], unknown.headers()["location"]);
    let login = stranger.get_html("/auth/login").await;
    assert!(login.contains("Check your email for the instructions"));
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1, "only the known address gets a mail");
    assert!(mails[0].contains("To: susan@example.com"));
}

#[tokio::test]
async fn while_the_mail_server_is_down_a_known_and_an_unknown_address_get_the_same_answer() {
    // Arrange: a closed port
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = app_mailing_to(closed, &[]).await;
    app.logged_in("susan").await;

    // Act
    let mut answers = Vec::new();
    for email in ["susan@example.com", "nobody@example.com"] {
        let browser = app.browser();
        let response = browser
            .post("/auth/reset_password_request", &[("email", email)])
            .await;
        let next = browser.get_html("/auth/login").await;
        answers.push((response.status(), location(&response), next));
    }

    // Assert
    assert_eq!(answers[0].0, StatusCode::SEE_OTHER);
    assert_eq!(answers[0].0, answers[1].0);
    assert_eq!(answers[0].1, answers[1].1);
    assert!(answers
        .iter()
        .all(|(_, _, page)| page.contains("Check your email for the instructions")));
}
