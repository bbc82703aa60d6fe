//! Avatars that work: an upload becomes a small, clean thumbnail that every instance serves.

use image::ImageFormat;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;

use crate::avatar_files::{avatar_url, jpeg_with_gps, picture, png_chunks, upload, with_an_avatar};
use crate::helpers::{location, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_uploaded_picture_becomes_a_256_pixel_png_shown_on_the_profile_and_posts() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    browser.publish("hello").await;

    // Act
    let response = upload(
        &browser,
        "susan",
        "About",
        "me.png",
        picture(640, 480, ImageFormat::Png),
    )
    .await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/edit_profile");
    let url = avatar_url(&browser, "susan").await;
    assert!(url.starts_with("/avatars/"), "{url}");
    assert!(
        browser.get_html("/index").await.contains(&url),
        "posts and the navigation show it"
    );
    let served = browser.get(&url).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(served.headers()[CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let etag = served.headers()[ETAG].clone();
    let png = served.bytes().await.unwrap();
    let decoded = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (256, 256));
    let again = browser
        .client
        .get(format!("{}{url}", app.address))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn exif_gps_data_never_survives_into_what_is_served() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;
    let photo = jpeg_with_gps();
    assert!(
        photo.windows(4).any(|w| w == b"Exif"),
        "the upload carries EXIF"
    );

    // Act
    let response = upload(&browser, "susan", "", "IMG_0001.jpg", photo).await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let png = browser
        .get(&avatar_url(&browser, "susan").await)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        png_chunks(&png),
        ["IHDR", "IDAT", "IEND"],
        "only pixels, no metadata"
    );
    assert!(!png.windows(4).any(|w| w == b"Exif" || w == b"MM\0\x2a"));
}

#[tokio::test]
async fn gif_and_webp_are_accepted_and_the_file_name_does_not_matter() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;

    for (format, name) in [
        (ImageFormat::Gif, "photo.txt"),
        (ImageFormat::WebP, "noextension"),
    ] {
        // Act
        let response = upload(&browser, "susan", "", name, picture(300, 300, format)).await;

        // Assert
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{format:?}");
    }
}

#[tokio::test]
async fn removing_the_avatar_brings_back_the_identicon() {
    // Arrange
    let app = spawn_app().await;
    let (browser, uploaded) = with_an_avatar(&app, "").await;
    assert!(browser
        .get_html("/edit_profile")
        .await
        .contains("Remove avatar"));

    // Act
    let response = browser.post("/edit_profile/remove_avatar", &[]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(avatar_url(&browser, "susan").await.starts_with("/avatar/"));
    assert!(!browser
        .get_html("/edit_profile")
        .await
        .contains("Remove avatar"));
    let stale = browser.get(&uploaded).await;
    assert_eq!(
        stale.status(),
        StatusCode::FOUND,
        "an old URL leads to the identicon"
    );
}

#[tokio::test]
async fn a_form_without_a_file_changes_the_profile_and_keeps_the_avatar() {
    // Arrange
    let app = spawn_app().await;
    let (browser, before) = with_an_avatar(&app, "").await;

    // Act
    let response = upload(&browser, "susan", "New words", "", Vec::new()).await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(avatar_url(&browser, "susan").await, before);
    assert!(browser.get_html("/user/susan").await.contains("New words"));
}

#[tokio::test]
async fn the_api_puts_and_deletes_an_avatar_and_answers_every_refusal_with_a_problem() {
    // Arrange
    let app = spawn_app().await;
    app.logged_in("susan").await;
    app.logged_in("john").await;
    let token = app.api_tokens("susan").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    let put = |id: i32, content_type: &'static str, body: Vec<u8>| {
        client
            .put(format!("{}/api/users/{id}/avatar", app.address))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let png = picture(100, 100, ImageFormat::Png);

    // Act
    let saved = put(1, "image/png", png.clone()).await.unwrap();
    let wrong_type = put(1, "application/json", png.clone()).await.unwrap();
    let not_image = put(1, "image/png", b"%PDF-1.4".to_vec()).await.unwrap();
    let someone_else = put(2, "image/png", png.clone()).await.unwrap();
    let too_large = put(1, "image/png", vec![0; 3 * 1024 * 1024]).await.unwrap();

    // Assert
    assert_eq!(saved.status(), StatusCode::OK);
    let user: serde_json::Value = saved.json().await.unwrap();
    let link = user["_links"]["avatar"]
        .as_str()
        .expect("an avatar link")
        .to_string();
    assert_eq!(
        client
            .get(format!("{}{link}", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for (response, status) in [
        (wrong_type, 415),
        (not_image, 422),
        (someone_else, 403),
        (too_large, 413),
    ] {
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert!(problem["request_id"].is_string());
        if status == 422 {
            assert!(problem["errors"]["avatar"][0]
                .as_str()
                .unwrap()
                .contains("not an image"));
        }
    }
    let deleted = client
        .delete(format!("{}/api/users/1/avatar", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let user: serde_json::Value = client
        .get(format!("{}/api/users/1", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(user["_links"]["avatar"].is_null());
}

#[tokio::test]
async fn an_avatar_uploaded_through_one_instance_shows_through_another() {
    // Arrange
    let first = spawn_app().await;
    let second = spawn_app_with(&[("DATABASE_URL", first.settings.database_url.expose())]).await;
    let browser = first.logged_in("susan").await;

    // Act
    upload(
        &browser,
        "susan",
        "",
        "me.png",
        picture(64, 64, ImageFormat::Png),
    )
    .await;

    // Assert
    let url = avatar_url(&browser, "susan").await;
    let elsewhere = second.browser();
    assert!(elsewhere.get_html("/user/susan").await.contains(&url));
    let served = elsewhere.get(&url).await;
    assert_eq!(served.status(), StatusCode::OK);
    let from_first = browser.get(&url).await.bytes().await.unwrap();
    assert_eq!(served.bytes().await.unwrap(), from_first);
}
