//! Avatars through the real form in headless Chromium: a picture is saved, and a file over the
//! limit ends on our 413 page with the form, never on the browser's "connection reset" page.

use image::ImageFormat;

use crate::avatar_files::picture;
use crate::browser::start;
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_person_uploads_an_avatar_and_a_file_too_large_gets_our_page_not_a_reset() {
    // Arrange
    let app = spawn_app().await;
    let Some(browser) = start("uploads").await else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let photo = files.path().join("holiday.jpg");
    std::fs::write(&photo, picture(800, 600, ImageFormat::Jpeg)).unwrap();
    let huge = files.path().join("huge.png");
    std::fs::write(&huge, vec![0x42; 12 * 1024 * 1024]).unwrap();
    browser.register_and_log_in(&app.address, "susan").await;

    // Act
    browser.open(&app.address, "/edit_profile").await;
    browser.choose_file("#avatar", &photo).await;
    browser.press("form[enctype] button[type=submit]").await;
    let saved = browser.html().await;
    browser.screenshot("saved").await;
    browser.open(&app.address, "/edit_profile").await;
    browser.choose_file("#avatar", &huge).await;
    browser.press("form[enctype] button[type=submit]").await;
    let refused = browser.html().await;
    browser.screenshot("too-large").await;

    // Assert
    assert!(saved.contains("Your changes have been saved."), "{saved}");
    assert!(
        saved.contains("src=\"/avatars/"),
        "the navigation shows the new avatar"
    );
    assert!(
        refused.contains("The file is larger than 2 MiB."),
        "{refused}"
    );
    assert!(
        refused.contains("<footer"),
        "our page, not the browser's error page"
    );
    assert!(
        refused.contains("value=\"susan\""),
        "the form keeps the username"
    );
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}
