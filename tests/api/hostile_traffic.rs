//! What a stranger or a bad day can do, and how the site holds: a body that never arrives, a
//! mail server that hangs, malformed requests, and lines that would blow up the logs. Nothing
//! here is timed: the tests wait for outcomes, and the harness (`examples/attack.rs`) measures.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{request_id, spawn_app_with};
use crate::process::TestProcess;
use crate::smtp::{body_of, FlakySmtp, SmtpServer};

#[tokio::test]
async fn a_stalled_body_gets_our_408_page_and_the_connection_closes() {
    // Arrange
    let app = spawn_app_with(&[("REQUEST_TIMEOUT", "1")]).await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();

    // Act: 60,000 bytes announced, ten sent
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nusername=x",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;

    // Assert
    assert!(read.is_ok(), "the server closed the connection");
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(
        answer.starts_with("http/1.1 408 request timeout"),
        "{answer}"
    );
    assert!(answer.contains("connection: close"));
    assert!(
        answer.contains("the request took too long to arrive."),
        "our page"
    );
    assert!(answer.contains("x-request-id"));
}

#[tokio::test]
async fn malformed_requests_never_reach_errors_log() {
    // Arrange
    let app = TestProcess::start(&[]);
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();

    // Act
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream
            .write_all(b"GET /<> HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 64];
        let _ = stream.read(&mut answer).await;
    }
    let id = request_id(&app.browser().get("/explore").await);
    let log = app.wait_for("microblog.log", |t| t.contains(&id)).await;

    // Assert
    assert!(
        log.contains("invalid uri character"),
        "the HTTP layer's complaint is kept"
    );
    assert!(log
        .lines()
        .filter(|line| line.contains("actix_http"))
        .all(|line| line.contains(" WARN ")));
    assert_eq!(
        app.read("errors.log"),
        "",
        "errors.log holds our own errors only"
    );
}

#[tokio::test]
async fn no_log_line_is_longer_than_16_kib() {
    // Arrange
    let app = TestProcess::start(&[]);
    let long_path = format!("/{}", "a".repeat(20_000));

    // Act
    let id = request_id(&app.browser().get(&long_path).await);
    let log = app.wait_for("microblog.log", |t| t.contains(&id)).await;

    // Assert
    assert!(
        log.lines().all(|line| line.len() < 16 * 1024),
        "a line over the cap"
    );
    assert!(log.contains("…[line cut at 16 KiB]"), "the cut is visible");
}

#[tokio::test]
async fn error_mails_go_on_past_a_hung_server_and_resume_with_the_counts() {
    // Arrange: a mail server that accepts and never answers, for now
    let inbox = SmtpServer::start();
    let flaky = FlakySmtp::start(&inbox);
    let port = flaky.port.to_string();
    let app = spawn_failing_app(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("MAIL_TIMEOUT", "1"),
        // Long enough that the server has recovered before the repeats' summary falls due
        // (a mail that meets the hung server is given up, not retried).
        ("ERROR_MAIL_INTERVAL", "4"),
    ])
    .await;
    let browser = app.browser();

    // Act: one error, then a different one, while the server hangs
    browser.post("/test/panic", &[]).await;
    browser.post("/test/error", &[]).await;
    for _ in 0..3 {
        browser.post("/test/panic", &[]).await;
    }
    let start = std::time::Instant::now();
    while flaky.connections() < 2 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempts_while_hung = flaky.connections();
    flaky.recover();
    // The repeats' summaries: one, or more if a loaded machine spread the repeats over
    // several intervals; together they count all three.
    let summarized = |mails: &[String]| -> u64 {
        mails
            .iter()
            .filter_map(|mail| {
                let body = body_of(mail);
                let rest = body
                    .trim_start()
                    .strip_prefix("Summary: this mail counts ")?;
                rest.split(' ').next()?.parse::<u64>().ok()
            })
            .sum()
    };
    let start = std::time::Instant::now();
    while summarized(&inbox.messages()) < 3 && start.elapsed() < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Assert
    assert!(
        attempts_while_hung >= 2,
        "the second, different error was attempted too"
    );
    let mails = inbox.messages();
    let bodies: Vec<String> = mails.iter().map(|mail| body_of(mail)).collect();
    assert_eq!(summarized(&mails), 3, "{bodies:#?}");
}
