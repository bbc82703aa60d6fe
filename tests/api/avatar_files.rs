//! The files the avatar tests upload, and the upload itself as a browser's form sends it.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use reqwest::multipart::{Form, Part};
use reqwest::Response;

use crate::helpers::{Browser, TestApp};

/// A `width` × `height` picture in `format`.
pub fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, 90])
    });
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("an encoded picture");
    bytes
}

/// A JPEG carrying EXIF GPS data (latitude 51° 30' 26.64" N), as a phone writes it.
pub fn jpeg_with_gps() -> Vec<u8> {
    let jpeg = picture(400, 300, ImageFormat::Jpeg);
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0: one entry, the GPS IFD's offset (26).
    tiff.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // The GPS IFD: GPSLatitudeRef "N", GPSLatitude three rationals at offset 56.
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    for (numerator, denominator) in [(51u32, 1u32), (30, 1), (2664, 100)] {
        tiff.extend_from_slice(&numerator.to_be_bytes());
        tiff.extend_from_slice(&denominator.to_be_bytes());
    }
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let length = (segment.len() + 2) as u16;
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&length.to_be_bytes());
    with_exif.extend_from_slice(&segment);
    with_exif.extend_from_slice(&jpeg[2..]);
    with_exif
}

/// The names of a PNG's chunks, in order.
pub fn png_chunks(png: &[u8]) -> Vec<String> {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        chunks.push(String::from_utf8_lossy(&png[at + 4..at + 8]).to_string());
        at += 12 + length;
    }
    chunks
}

/// Posts Edit Profile as the browser's form does: the CSRF token first, the profile's fields,
/// then the file.
pub async fn upload(
    browser: &Browser,
    username: &str,
    about_me: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> Response {
    let token = browser.csrf_token().await;
    let form = Form::new()
        .text("csrf_token", token)
        .text("username", username.to_string())
        .text("about_me", about_me.to_string())
        .part(
            "avatar",
            Part::bytes(bytes)
                .file_name(file_name.to_string())
                .mime_str("image/png")
                .expect("a content type"),
        );
    browser
        .client
        .post(format!("{}/edit_profile", browser.address))
        .multipart(form)
        .send()
        .await
        .expect("the request is sent")
}

/// The avatar URL a page shows for `username` (the profile's large picture).
pub async fn avatar_url(browser: &Browser, username: &str) -> String {
    let html = browser.get_html(&format!("/user/{username}")).await;
    let marker = "class=\"avatar large\" src=\"";
    let start = html.find(marker).expect("a profile picture") + marker.len();
    let end = html[start..].find('"').expect("the end of the URL") + start;
    html[start..end].to_string()
}

/// Susan, logged in, her "about me" `about_me`, with a 64-pixel picture saved as her avatar:
/// her browser and the avatar's URL.
pub async fn with_an_avatar(app: &TestApp, about_me: &str) -> (Browser, String) {
    let browser = app.logged_in("susan").await;
    let picture = picture(64, 64, ImageFormat::Png);
    let saved = upload(&browser, "susan", about_me, "old.png", picture).await;
    assert_eq!(
        saved.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the avatar is saved"
    );
    let url = avatar_url(&browser, "susan").await;
    (browser, url)
}
