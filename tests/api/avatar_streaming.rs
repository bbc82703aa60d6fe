//! Uploads as they arrive on the wire: a byte at a time, without a length, or two at once.

use std::time::Duration;

use futures_util::StreamExt;
use image::ImageFormat;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::avatar_files::{avatar_url, picture, upload};
use crate::helpers::spawn_app;

/// A multipart body for `token` with a small picture, and its content type.
fn multipart_body(token: &str) -> (Vec<u8>, String) {
    let boundary = "QuietBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"me.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&picture(16, 16, ImageFormat::Png));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

#[tokio::test]
async fn an_upload_sent_a_byte_at_a_time_is_read_whole_and_saved() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let (body, content_type) = multipart_body(&browser.csrf_token().await);
    let length = body.len();
    let bytes =
        futures_util::stream::iter(body.into_iter().map(|b| Ok::<_, std::io::Error>(vec![b])));

    // Act
    let response = browser
        .client
        .post(format!("{}/edit_profile", app.address))
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, length.to_string())
        .body(reqwest::Body::wrap_stream(bytes))
        .send()
        .await
        .unwrap();

    // Assert: no field was sent but the file, so the profile keeps its values.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(avatar_url(&browser, "susan").await.starts_with("/avatars/"));
}

#[tokio::test]
async fn an_upload_without_a_length_is_refused_with_411() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let (body, content_type) = multipart_body(&browser.csrf_token().await);
    let chunked = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });

    // Act
    let response = browser
        .client
        .post(format!("{}/edit_profile", app.address))
        .header(CONTENT_TYPE, content_type)
        .body(reqwest::Body::wrap_stream(chunked))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::LENGTH_REQUIRED);
    assert!(response.text().await.unwrap().contains("Content-Length"));
}

#[tokio::test]
async fn a_user_sends_one_upload_at_a_time() {
    // Arrange: an upload whose body stalls after its head, holding its turn.
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let (body, content_type) = multipart_body(&browser.csrf_token().await);
    let head = body[..body.len() / 2].to_vec();
    let stalled = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(futures_util::stream::pending());
    let request = browser
        .client
        .post(format!("{}/edit_profile", app.address))
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, body.len().to_string())
        .body(reqwest::Body::wrap_stream(stalled))
        .send();
    let first = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act
    let second = upload(
        &browser,
        "susan",
        "",
        "me.png",
        picture(16, 16, ImageFormat::Png),
    )
    .await;

    // Assert
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    first.abort();
}
