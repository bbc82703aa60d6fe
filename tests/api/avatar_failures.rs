//! Every bad file gets a clear answer: our page with a message next to the field (or our 413
//! before the file is read), the user's other input kept, and the old avatar intact.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use image::ImageFormat;
use microblog::uploads::samples::decompression_bomb;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::avatar_files::{avatar_url, picture, upload, with_an_avatar};
use crate::helpers::{location, spawn_app, Browser};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_file_over_the_limit_gets_our_413_with_the_other_input_kept_and_the_old_avatar_intact() {
    // Arrange
    let app = spawn_app().await;
    let (browser, before) = with_an_avatar(&app, "").await;

    // Act
    let response = upload(
        &browser,
        "susan2",
        "Kept words",
        "huge.png",
        vec![7; 3 * MIB],
    )
    .await;

    // Assert
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = response.text().await.unwrap();
    assert!(html.contains("The file is larger than 2 MiB."), "{html}");
    assert!(html.contains("value=\"susan2\"") && html.contains("Kept words"));
    assert_eq!(avatar_url(&browser, "susan").await, before);
}

#[tokio::test]
async fn a_declared_huge_upload_is_answered_413_before_its_body_arrives() {
    // Arrange: the form's fields and the file's first bytes, then a body that never ends.
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let token = browser.csrf_token().await;
    let boundary = "XyZzY";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nsusan\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"dvd.iso\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let body =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(head.into_bytes()) })
            .chain(futures_util::stream::pending());
    let started = Instant::now();

    // Act
    let response = browser
        .client
        .post(format!("{}/edit_profile", app.address))
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(CONTENT_LENGTH, (4u64 << 30).to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn files_that_are_not_pictures_get_a_message_next_to_the_field() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let png = picture(64, 64, ImageFormat::Png);
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("report.png", b"%PDF-1.4\n%%EOF\n".to_vec(), "not an image"),
        ("drawing.svg", svg, "not an image"),
        (
            "scan.tiff",
            b"II*\0\x08\0\0\0\0\0".to_vec(),
            "TIFF images are not accepted",
        ),
        (
            "half.png",
            png[..png.len() / 2].to_vec(),
            "damaged or incomplete",
        ),
    ];

    for (name, bytes, message) in cases {
        // Act
        let response = upload(&browser, "susan", "Kept words", name, bytes).await;

        // Assert
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("id=\"avatar-error\""),
            "{name}: the message is next to the field"
        );
        assert!(html.contains(message), "{name}: {html}");
        assert!(html.contains("Kept words"));
    }
    assert!(
        avatar_url(&browser, "susan").await.starts_with("/avatar/"),
        "still the identicon"
    );
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_in_well_under_a_second() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let bomb = decompression_bomb();
    assert!(bomb.len() < 64 * 1024, "a few KB: {}", bomb.len());
    let started = Instant::now();

    // Act
    let response = upload(&browser, "susan", "", "cute-cat.png", bomb).await;

    // Assert
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("at most 4096 × 4096 pixels"));
}

#[tokio::test]
async fn uploads_are_limited_per_user() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let tiny = picture(8, 8, ImageFormat::Png);
    for _ in 0..10 {
        let response = upload(&browser, "susan", "", "me.png", tiny.clone()).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }

    // Act
    let response = upload(&browser, "susan", "Kept words", "me.png", tiny).await;

    // Assert
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = response.text().await.unwrap();
    assert!(html.contains("You have changed your avatar often"));
    assert!(html.contains("Kept words"));
}

#[tokio::test]
async fn a_multipart_form_needs_its_csrf_token_first_and_a_login() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let token = browser.csrf_token().await;
    let png = picture(8, 8, ImageFormat::Png);
    let part = || reqwest::multipart::Part::bytes(png.clone()).file_name("me.png");
    let post = |browser: &Browser, form: reqwest::multipart::Form| {
        browser
            .client
            .post(format!("{}/edit_profile", app.address))
            .multipart(form)
            .send()
    };

    // Act
    let no_token = post(
        &browser,
        reqwest::multipart::Form::new().part("avatar", part()),
    )
    .await
    .unwrap();
    let token_last = post(
        &browser,
        reqwest::multipart::Form::new()
            .part("avatar", part())
            .text("csrf_token", token.clone()),
    )
    .await
    .unwrap();
    let stranger = app.browser();
    let stranger_token = stranger.csrf_token().await;
    let not_logged_in = post(
        &stranger,
        reqwest::multipart::Form::new()
            .text("csrf_token", stranger_token)
            .part("avatar", part()),
    )
    .await
    .unwrap();

    // Assert
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(token_last.status(), StatusCode::FORBIDDEN);
    assert_eq!(not_logged_in.status(), StatusCode::SEE_OTHER);
    assert!(location(&not_logged_in).starts_with("/auth/login"));
}

#[tokio::test]
async fn a_file_name_with_control_characters_is_refused_cleanly() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;

    // Act
    let response = upload(
        &browser,
        "susan",
        "",
        "evil\u{1b}[31m\r\nname.png",
        b"%PDF".to_vec(),
    )
    .await;

    // Assert
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}: {html}"
    );
    assert!(html.contains("<footer"), "our page");
}
