//! When storing fails, nothing is half-written; every refusal is one log line and a count, and
//! memory stays small whatever is sent.

use diesel::connection::SimpleConnection;
use image::ImageFormat;
use microblog::db::DbConnection;
use microblog::uploads::samples::decompression_bomb;
use reqwest::StatusCode;

use crate::avatar_files::{avatar_url, picture, upload, with_an_avatar};
use crate::helpers::{location, spawn_app};
use crate::process::TestProcess;

const MIB: usize = 1024 * 1024;

/// Makes every write to `avatars` fail, as a full disk would.
fn break_avatar_storage(conn: &mut DbConnection) {
    match conn {
        DbConnection::Sqlite(conn) => conn.batch_execute(
            "CREATE TRIGGER full_disk_insert BEFORE INSERT ON avatars \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END; \
             CREATE TRIGGER full_disk_update BEFORE UPDATE ON avatars \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        ),
        DbConnection::Postgresql(conn) => conn.batch_execute(
            "CREATE FUNCTION full_disk() RETURNS trigger AS $$ \
               BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$ \
             LANGUAGE plpgsql; \
             CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE ON avatars \
               FOR EACH ROW EXECUTE FUNCTION full_disk();",
        ),
    }
    .expect("the trigger is created");
}

#[tokio::test]
async fn when_storage_fails_the_500_page_has_an_error_id_and_nothing_is_half_written() {
    // Arrange
    let app = spawn_app().await;
    let (browser, before) = with_an_avatar(&app, "Old words").await;
    app.query(break_avatar_storage);

    // Act
    let response = upload(
        &browser,
        "renamed",
        "New words",
        "new.png",
        picture(80, 80, ImageFormat::Png),
    )
    .await;

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error_id = crate::helpers::request_id(&response);
    assert!(response.text().await.unwrap().contains(&error_id));
    assert_eq!(
        avatar_url(&browser, "susan").await,
        before,
        "the old avatar is shown"
    );
    assert_eq!(browser.get(&before).await.status(), StatusCode::OK);
    let profile = browser.get_html("/user/susan").await;
    assert!(
        profile.contains("Old words"),
        "the profile's text was not changed either"
    );
}

#[tokio::test]
async fn a_picture_missing_from_the_database_shows_the_identicon() {
    // Arrange
    let app = spawn_app().await;
    let (browser, url) = with_an_avatar(&app, "").await;
    app.query(|conn| match conn {
        DbConnection::Sqlite(conn) => conn.batch_execute("DELETE FROM avatars"),
        DbConnection::Postgresql(conn) => conn.batch_execute("DELETE FROM avatars"),
    })
    .unwrap();

    // Act
    let response = browser.get(&url).await;

    // Assert
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("/avatar/"));
}

#[tokio::test]
async fn every_refusal_leaves_one_log_line_naming_the_user_and_the_file_and_memory_stays_small() {
    // Arrange
    let process = TestProcess::start(&[]);
    let browser = process.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser.login("susan", "correct horse").await;
    let files = [
        ("huge.png", vec![1; 3 * MIB]),
        ("report.png", b"%PDF-1.4\n".to_vec()),
        ("cute-cat.png", decompression_bomb()),
    ];

    // Act
    for (name, bytes) in files {
        let response = upload(&browser, "susan", "", name, bytes).await;
        assert!(response.status().is_client_error(), "{name}");
    }

    // Assert
    let log = process
        .wait_for("microblog.log", |log| {
            log.matches("Avatar upload refused").count() >= 3
        })
        .await;
    for name in ["huge.png", "report.png", "cute-cat.png"] {
        let lines: Vec<&str> = log.lines().filter(|line| line.contains(name)).collect();
        assert_eq!(lines.len(), 1, "one line for {name}: {lines:?}");
        assert!(lines[0].contains("Avatar upload refused") && lines[0].contains("user_id=1"));
    }
    assert!(
        process.rss_mb() < 100.0,
        "resident memory {} MB",
        process.rss_mb()
    );
}

#[tokio::test]
async fn uploads_are_counted_by_outcome_in_the_metrics_whatever_the_file() {
    // Arrange
    let app = crate::helpers::spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let browser = app.logged_in("susan").await;
    let metrics = format!("{}/metrics", app.metrics_address.clone().unwrap());

    // Act
    upload(
        &browser,
        "susan",
        "",
        "a.png",
        picture(32, 32, ImageFormat::Png),
    )
    .await;
    upload(
        &browser,
        "susan",
        "",
        "weird name {x}.png",
        b"%PDF".to_vec(),
    )
    .await;
    upload(&browser, "susan", "", "b.png", decompression_bomb()).await;

    // Assert
    let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let count = |outcome: &str| {
        text.lines()
            .find(|line| {
                line.starts_with(&format!(
                    "microblog_avatar_uploads_total{{outcome=\"{outcome}\"}}"
                ))
            })
            .and_then(|line| line.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!(count("saved").as_deref(), Some("1"));
    assert_eq!(count("not_an_image").as_deref(), Some("1"));
    assert_eq!(count("too_many_pixels").as_deref(), Some("1"));
    assert!(!text.contains("weird"), "a file name never becomes a label");
}

#[tokio::test]
async fn the_storage_failure_experiment_leaves_every_connection_writable() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.logged_in("susan").await;

    // Act
    let failed = browser.post("/lab/upload-storage-fails", &[]).await;

    // Assert: every pooled connection still writes.
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    for i in 0..20 {
        let published = browser.publish(&format!("post {i}")).await;
        assert_eq!(published.status(), StatusCode::SEE_OTHER, "post {i}");
    }
    let saved = upload(
        &browser,
        "susan",
        "",
        "me.png",
        picture(16, 16, ImageFormat::Png),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
}
