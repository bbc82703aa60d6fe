//! "Export your posts": the job's progress through `GET /export_posts`, one export at a time,
//! and the mail with every post in `posts.json`.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{location, spawn_app_with};
use crate::smtp::SmtpServer;

/// The attachment `posts.json` of a raw mail, decoded.
fn attached_posts(mail: &str) -> Value {
    let start = mail.find("filename=\"posts.json\"").expect("an attachment");
    let part = &mail[start..];
    let headers_end = part.find("\r\n\r\n").expect("the part's headers end") + 4;
    let body_end = part[headers_end..]
        .find("\r\n--")
        .map_or(part.len(), |end| headers_end + end);
    let body = &part[headers_end..body_end];
    let encoded: String = body.split_whitespace().collect();
    let bytes = if part[..headers_end].to_ascii_lowercase().contains("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64")
    } else {
        body.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).expect("posts.json is JSON")
}

#[tokio::test]
async fn an_export_moves_to_done_and_mails_every_post_as_posts_json() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_app_with(&[("MAIL_SERVER", "127.0.0.1"), ("MAIL_PORT", &port)]).await;
    let susan = app.logged_in("susan").await;
    for body in ["first <post>", "second", "third & last"] {
        susan.publish(body).await;
    }

    // Act
    let before: Value = susan.get("/export_posts").await.json().await.unwrap();
    let pressed = susan.post("/export_posts", &[]).await;
    let index = susan.get_html("/index").await;
    let mut seen = Vec::new();
    let start = Instant::now();
    loop {
        let status: Value = susan.get("/export_posts").await.json().await.unwrap();
        seen.push((
            status["status"].as_str().unwrap().to_string(),
            status["progress"].as_i64().unwrap(),
        ));
        if !status["pending"].as_bool().unwrap() || start.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;

    // Assert
    assert_eq!(before["status"], "none");
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&pressed), "/index");
    assert!(index.contains("they will arrive by mail"), "the flash");
    assert!(index.contains("<script src=\"/static/export.js\" defer></script>"));
    let last = seen.last().unwrap();
    assert_eq!((last.0.as_str(), last.1), ("succeeded", 100), "{seen:?}");
    assert!(
        seen.iter()
            .all(|(status, progress)| status == "succeeded" || *progress < 100),
        "{seen:?}"
    );
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("susan@example.com"));
    let export = attached_posts(&mails[0]);
    let bodies: Vec<&str> = export["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["first <post>", "second", "third & last"]);
    assert!(export["posts"][0]["id"].is_number() && export["posts"][0]["timestamp"].is_string());
    let again = susan.post("/export_posts", &[]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(
        susan.get_html("/index").await.contains("a moment ago"),
        "one export a minute"
    );
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_second_press_while_an_export_waits_says_one_is_running() {
    // Arrange: no workers, so the first export waits
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    let susan = app.logged_in("susan").await;
    susan.post("/export_posts", &[]).await;
    let _ = susan.get_html("/index").await;

    // Act
    let again = susan.post("/export_posts", &[]).await;
    let index = susan.get_html("/index").await;
    let status: Value = susan.get("/export_posts").await.json().await.unwrap();
    let anonymous = app.browser().get("/export_posts").await;

    // Assert
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(index.contains("already running"), "{index}");
    assert_eq!(status["status"], "queued");
    assert_eq!(status["pending"], true);
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "the login page");
}
