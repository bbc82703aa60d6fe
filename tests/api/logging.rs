//! What developers find in LOG_DIR: one access line per request, one ERROR line per failure with
//! the page's id in both files, rotation by size, JSON lines, and never a secret.

use reqwest::StatusCode;

use crate::helpers::request_id;
use crate::process::{all_files, wait_for_outbox, TestProcess};

#[tokio::test]
async fn a_500_leaves_one_error_line_with_its_id_in_both_files_and_one_eml() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    let _ = browser.get("/lab").await;

    // Act
    let response = browser.post("/lab/panic", &[]).await;
    let id = request_id(&response);

    // Assert
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let errors = app.wait_for("errors.log", |text| text.contains(&id)).await;
    let all = app
        .wait_for("microblog.log", |text| {
            text.contains("Request completed") && text.contains(&id)
        })
        .await;
    let error_lines = |text: &str| {
        text.lines()
            .filter(|l| l.contains(&id) && l.contains(" ERROR "))
            .count()
    };
    assert_eq!(error_lines(&errors), 1, "{errors}");
    assert_eq!(error_lines(&all), 1, "{all}");
    let line = errors.lines().find(|l| l.contains(&id)).unwrap();
    assert!(
        line.contains("A handler panicked at src/routes/lab/experiments.rs"),
        "{line}"
    );
    assert!(line.contains("Caused by:"), "the whole chain: {line}");
    let mails = wait_for_outbox(&app.log_dir).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].0.extension().is_some_and(|e| e == "eml"));
    assert!(mails[0].1.contains(&id), "the mail carries the same id");
}

#[tokio::test]
async fn every_request_leaves_exactly_one_access_line() {
    // Arrange
    let app = TestProcess::start(&[("LOG_MAX_BYTES", "100000000")]);
    let client = reqwest::Client::new();
    let total = 3000;

    // Act
    let mut handles = Vec::new();
    for worker in 0..25 {
        let client = client.clone();
        let address = app.address.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in (worker..total).step_by(25) {
                let response = client
                    .get(format!("{address}/healthz"))
                    .send()
                    .await
                    .unwrap();
                ids.push(request_id(&response));
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for handle in handles {
        ids.extend(handle.await.unwrap());
    }

    // Assert
    let access = |text: &str| {
        text.lines()
            .filter(|l| l.contains("Request completed"))
            .count()
    };
    let log = app
        .wait_for("microblog.log", |text| access(text) >= total)
        .await;
    assert_eq!(access(&log), total);
    let logged: std::collections::HashSet<&str> = log
        .lines()
        .filter(|l| l.contains("Request completed"))
        .filter_map(|l| l.split("request_id=").nth(1)?.split(' ').next())
        .collect();
    assert!(
        ids.iter().all(|id| logged.contains(id.as_str())),
        "one line for each request"
    );
}

#[tokio::test]
async fn access_lines_name_the_method_route_status_latency_client_and_user() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser.login("susan", "correct horse").await;

    // Act
    let response = browser.get("/user/susan").await;
    let id = request_id(&response);

    // Assert
    let log = app
        .wait_for("microblog.log", |text| {
            text.contains(&format!("request_id={id} user_id=1"))
        })
        .await;
    let line = log
        .lines()
        .find(|l| l.contains(&id) && l.contains("Request completed"))
        .unwrap();
    for part in [
        "method=GET",
        "route=/user/{username}",
        "status=200",
        "latency_ms=",
        "client=127.0.0.1",
        "user_id=1",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_request_and_user() {
    // Arrange
    let app = TestProcess::start(&[("LOG_FORMAT", "json")]);
    let browser = app.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser.login("susan", "correct horse").await;

    // Act
    let id = request_id(&browser.get("/index").await);

    // Assert
    let log = app
        .wait_for("microblog.log", |text| text.contains(&id))
        .await;
    let objects: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let access = objects
        .iter()
        .find(|o| o["request_id"] == id.as_str() && o["message"] == "Request completed")
        .expect("the access line");
    assert_eq!(access["user_id"], "1");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["status"], 200);
    for key in ["timestamp", "target", "file", "line"] {
        assert!(!access[key].is_null(), "{key}");
    }
}

#[tokio::test]
async fn log_files_rotate_by_size_and_keep_the_backup_count() {
    // Arrange
    let app = TestProcess::start(&[("LOG_MAX_BYTES", "4096"), ("LOG_BACKUP_COUNT", "2")]);
    let browser = app.browser();

    // Act
    for _ in 0..200 {
        browser.get("/healthz").await;
    }
    let last = request_id(&browser.get("/healthz").await);
    app.wait_for("microblog.log", |text| text.contains(&last))
        .await;

    // Assert
    let files = all_files(&app.log_dir);
    let mut names: Vec<String> = files
        .iter()
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "errors.log",
            "microblog.log",
            "microblog.log.1",
            "microblog.log.2"
        ]
    );
    for (path, text) in &files {
        assert!(text.len() <= 4096, "{path:?} has {} bytes", text.len());
        assert!(text.is_empty() || text.ends_with('\n'), "no line is split");
    }
}

#[tokio::test]
async fn secrets_never_reach_a_log_file_or_a_mail() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;

    // Act: wrong and right passwords, a failing page with secrets in its form and headers
    browser.login("susan", "wrong-password-zebra").await;
    browser.login("susan", "correct horse").await;
    let csrf = browser.csrf_token().await;
    let response = browser
        .client
        .post(format!("{}/lab/panic", app.address))
        .header("Authorization", "Bearer sekrit-bearer-token")
        .header(
            "Referer",
            format!(
                "{}/auth/reset_password/referer-token-heron.1.2",
                app.address
            ),
        )
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "panic-password-yak"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&response);
    browser
        .get("/auth/reset_password/reset-token-walrus.123.abc")
        .await;
    app.wait_for("errors.log", |text| text.contains(&id)).await;
    wait_for_outbox(&app.log_dir).await;

    // Assert
    let files = all_files(&app.log_dir);
    assert!(files
        .iter()
        .any(|(path, _)| path.extension().is_some_and(|e| e == "eml")));
    for (path, text) in files {
        for secret in [
            "correct horse",
            "wrong-password-zebra",
            "panic-password-yak",
            "sekrit-bearer-token",
            "reset-token-walrus",
            "referer-token-heron",
            csrf.as_str(),
            "microblog_session=",
        ] {
            assert!(!text.contains(secret), "{secret:?} found in {path:?}");
        }
    }
}

#[tokio::test]
async fn an_unusable_log_dir_leaves_the_site_running_and_says_why_once() {
    // Arrange and act
    let app = TestProcess::start(&[("LOG_DIR", "/proc/no-such-dir/logs")]);
    let response = app.browser().get("/explore").await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let console = app.console();
    let warnings = console
        .iter()
        .filter(|l| l.contains("Log files are off"))
        .count();
    assert_eq!(warnings, 1, "{console:?}");
}

#[tokio::test]
async fn startup_and_shutdown_are_logged() {
    // Arrange
    let mut app = TestProcess::start(&[]);
    // Serving proves the signal handlers are installed; a SIGTERM before that ends the process
    // at once, as for any program.
    app.browser().get("/healthz").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Act
    app.stop();

    // Assert
    let log = app.read("microblog.log");
    let startup = log
        .lines()
        .find(|l| l.contains("Microblog startup"))
        .expect("a startup line");
    for part in [
        "version=",
        "address=",
        "database=",
        "log_dir=",
        "mail=",
        "lab=true",
    ] {
        assert!(startup.contains(part), "{part} in {startup}");
    }
    assert!(
        log.contains("Microblog shutdown"),
        "{log}\n{:?}",
        app.console()
    );
}

#[tokio::test]
async fn ordinary_browsing_leaves_errors_log_empty() {
    // Arrange
    let app = TestProcess::start(&[]);
    let browser = app.browser();

    // Act: redirects to login, a form error, a 404, a refused CSRF token, a wrong password
    browser.get("/index").await;
    browser.get("/edit_profile").await;
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser
        .register("susan", "susan@example.com", "correct horse")
        .await;
    browser.login("susan", "wrong password").await;
    browser.get("/no-such-page").await;
    browser.post_raw("/index", &[("post", "forged")]).await;
    let last = request_id(&browser.get("/explore").await);

    // Assert
    app.wait_for("microblog.log", |text| text.contains(&last))
        .await;
    assert_eq!(app.read("errors.log"), "");
}
