//! A real browser: Debian's Chromium, headless, driven through ChromeDriver with fantoccini. It
//! walks the site as a person does, presses every lab button, and checks every page for console
//! errors and Content-Security-Policy violations. Screenshots go to `target/browser-screenshots/`.
//!
//! `.ci/run` installs Chromium and sets REQUIRE_BROWSER=1, so a missing browser fails there; on
//! a machine with only Rust, these tests say they were skipped and pass.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

use crate::helpers::spawn_app;
use crate::process::TestProcess;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium and its ChromeDriver, gone when dropped.
pub(crate) struct RealBrowser {
    client: Client,
    driver: Child,
    _profile: TempDir,
    name: &'static str,
}

impl Drop for RealBrowser {
    /// Ends ChromeDriver and every Chromium process it started, even when the test failed: a
    /// browser left behind holds 200 MB. Chromium moves some of its processes to groups of
    /// their own, so they are found by the profile folder each one names on its command line.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(self._profile.path())
            .status();
    }
}

/// Starts the browser, or returns `None` (saying so) where none is installed and none is
/// required.
pub(crate) async fn start(name: &'static str) -> Option<RealBrowser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        );
        eprintln!("browser test {name} skipped: {CHROMEDRIVER} is not installed");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver listens"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = tempfile::tempdir().expect("a profile folder");
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Some(RealBrowser {
        client,
        driver,
        _profile: profile,
        name,
    })
}

/// ChromeDriver's log of the browser console since the last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

impl RealBrowser {
    pub(crate) async fn open(&self, address: &str, path: &str) {
        self.client
            .goto(&format!("{address}{path}"))
            .await
            .expect("the page loads");
    }

    async fn fill(&self, selector: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(selector))
            .await
            .expect(selector);
        field.clear().await.expect("cleared");
        field.send_keys(text).await.expect("typed");
    }

    /// Clicks `selector` and waits until the page it leads to has replaced this one.
    pub(crate) async fn press(&self, selector: &str) {
        let old_page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        self.client
            .find(Locator::Css(selector))
            .await
            .expect(selector)
            .click()
            .await
            .expect("clicked");
        let start = Instant::now();
        while old_page.tag_name().await.is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{selector} led nowhere"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.client
            .wait()
            .for_element(Locator::Css("body"))
            .await
            .expect("the next page");
    }

    /// Chooses the file at `path` in the file input `selector`, as a person does in the dialog.
    pub(crate) async fn choose_file(&self, selector: &str, path: &std::path::Path) {
        self.client
            .find(Locator::Css(selector))
            .await
            .expect(selector)
            .send_keys(&path.display().to_string())
            .await
            .expect("a file chosen");
    }

    pub(crate) async fn html(&self) -> String {
        self.client.source().await.expect("the page's source")
    }

    /// Console messages at SEVERE level since the last look. Chromium also reports the status
    /// of a page itself that way (our 404, a form's 422): that is the page answering as
    /// intended, not an error in it, so it is left out.
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("the console log");
        let page = self.client.current_url().await.expect("a page").to_string();
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter_map(|entry| entry["message"].as_str().map(str::to_string))
            .filter(|message| {
                !message.starts_with(&format!(
                    "{page} - Failed to load resource: the server responded with a status of"
                ))
            })
            .collect()
    }

    pub(crate) async fn screenshot(&self, step: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{}-{step}.png", self.name)), png);
        }
    }

    pub(crate) async fn register_and_log_in(&self, address: &str, username: &str) {
        self.open(address, "/auth/register").await;
        self.fill("#username", username).await;
        self.fill("#email", &format!("{username}@example.com"))
            .await;
        self.fill("#password", "correct horse").await;
        self.fill("#password2", "correct horse").await;
        self.press("form button[type=submit]").await;
        self.fill("#username", username).await;
        self.fill("#password", "correct horse").await;
        self.press("form.card button[type=submit]").await;
    }
}

#[tokio::test]
async fn a_person_posts_follows_and_sees_a_taken_name_next_to_the_field() {
    // Arrange
    let app = spawn_app().await;
    let Some(browser) = start("walk").await else {
        return;
    };
    browser.register_and_log_in(&app.address, "john").await;
    browser.press("form[action='/auth/logout'] button").await;
    browser.register_and_log_in(&app.address, "susan").await;

    // Act: post, follow, then rename to a taken name
    browser.fill("#post", "Hello from Chromium").await;
    browser.press("form.post-form button[type=submit]").await;
    let home = browser.html().await;
    browser.screenshot("home").await;
    browser.open(&app.address, "/user/john").await;
    browser.press("form[action='/follow/john'] button").await;
    let profile = browser.html().await;
    browser.open(&app.address, "/edit_profile").await;
    browser.fill("#username", "JOHN").await;
    browser
        .press("form[action='/edit_profile'] button[type=submit]")
        .await;
    let edit = browser.html().await;
    browser.screenshot("taken-name").await;

    // Assert
    assert!(home.contains("Your post is now live!") && home.contains("Hello from Chromium"));
    assert!(profile.contains("You are following john!"), "{profile}");
    let error = browser
        .client
        .find(Locator::Css("#username-error"))
        .await
        .expect("a message next to the username field");
    assert_eq!(
        error.text().await.unwrap().trim(),
        "Please use a different username."
    );
    assert!(edit.contains("value=\"JOHN\""), "the input is kept");
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[tokio::test]
async fn every_lab_button_answers_and_the_500_page_leads_to_the_log_viewer() {
    // Arrange: the real binary, so that the log viewer has log files to show.
    let app = TestProcess::start(&[]);
    let Some(browser) = start("lab").await else {
        return;
    };
    browser.register_and_log_in(&app.address, "susan").await;
    let forms = |page: &str| -> Vec<String> {
        page.split("action=\"/lab/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_string))
            .collect()
    };
    // Under the whole suite's load the page may come late, or be read while the browser is
    // still parsing it: look again until its footer (after every card) is there.
    let mut lab_page = String::new();
    let started = Instant::now();
    while !lab_page.contains("<footer") && started.elapsed() < Duration::from_secs(15) {
        browser.open(&app.address, "/lab").await;
        lab_page = browser.html().await;
    }
    let names = forms(&lab_page);
    assert_eq!(names.len(), 25, "{names:?} in {lab_page}");

    // Act
    let mut pages = Vec::new();
    for name in &names {
        browser.open(&app.address, "/lab").await;
        browser
            .press(&format!("form[action='/lab/{name}'] button"))
            .await;
        pages.push((name.clone(), browser.html().await));
        browser.screenshot(name).await;
    }
    browser.open(&app.address, "/lab").await;
    browser.press("form[action='/lab/panic'] button").await;
    browser.press("a[href^='/lab/logs?request_id=']").await;
    let viewer = browser.html().await;
    browser.screenshot("log-viewer").await;

    // Assert
    for (name, html) in &pages {
        assert!(html.contains("<footer"), "{name} ends on one of our pages");
    }
    let page = |name: &str| &pages.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(page("panic").contains("An unexpected error has occurred"));
    assert!(page("not-found").contains("There is no user number -1."));
    assert!(page("too-large").contains("The request is too large."));
    assert!(page("upload-bomb").contains("at most 4096 × 4096 pixels"));
    assert!(viewer.contains("What one request left behind"));
    assert!(viewer.contains("Request failed"), "the error line");
}

#[tokio::test]
async fn every_page_loads_without_console_errors_or_csp_violations() {
    // Arrange
    let app = spawn_app().await;
    let Some(browser) = start("pages").await else {
        return;
    };
    browser.register_and_log_in(&app.address, "susan").await;
    browser.fill("#post", "A post to show").await;
    browser.press("form.post-form button[type=submit]").await;
    let _ = browser.console_errors().await;
    let pages = [
        "/index",
        "/explore",
        "/search?q=post",
        "/user/susan",
        "/edit_profile",
        "/lab",
        "/lab/logs",
        "/auth/reset_password_request",
        "/no/such/page",
    ];

    // Act
    let mut found = Vec::new();
    for path in pages {
        browser.open(&app.address, path).await;
        let errors = browser.console_errors().await;
        found.extend(errors.into_iter().map(|error| (path, error)));
    }
    browser.open(&app.address, "/auth/login").await;
    browser.screenshot("login").await;

    // Assert
    assert!(found.is_empty(), "{found:#?}");
}
