//! `spawn_app`: the real server on a random port, with a database of its own (a temporary SQLite
//! file, or a PostgreSQL database with TEST_DATABASE_URL) and a temporary log folder, and a
//! cookie-keeping client that talks HTTP to it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use microblog::config::{LogSettings, Settings};
use microblog::db::{self, DbPool};
use microblog::startup::Application;
use microblog::telemetry;
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use tempfile::TempDir;

use crate::database::TestDatabase;

/// Logs go to the console only when asked: `TEST_LOG=1 cargo test`.
static TRACING: LazyLock<Option<telemetry::TelemetryGuard>> = LazyLock::new(|| {
    std::env::var("TEST_LOG").is_ok().then(|| {
        telemetry::init(&LogSettings {
            dir: PathBuf::from("logs"),
            level: "info".into(),
            format: microblog::config::LogFormat::Text,
            max_bytes: 1 << 20,
            backup_count: 1,
            split_levels: false,
            readable_console: false,
            to_stdout: false,
        })
    })
});

/// A running application and what a test needs to inspect it.
#[allow(dead_code)] // Not every test binary module uses every field.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// `http://host:port` of `GET /metrics`, when METRICS_ADDR was set.
    pub metrics_address: Option<String>,
    /// The same database the server uses, for arranging and asserting.
    pub pool: DbPool,
    pub log_dir: PathBuf,
    pub settings: Settings,
    _database: TestDatabase,
    _dir: TempDir,
}

/// Spawns the app with the default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Spawns the app with some settings changed, as environment variables would.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_with_routes(overrides, |_| {}).await
}

/// Spawns the app with routes of the test's own added to the route table, as a fork adds them.
pub async fn spawn_app_with_routes(
    overrides: &[(&str, &str)],
    more_routes: fn(&mut actix_web::web::ServiceConfig),
) -> TestApp {
    LazyLock::force(&TRACING);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = TestDatabase::create(dir.path());
    let log_dir = dir.path().join("logs");
    let mut vars: HashMap<String, String> = HashMap::from([
        ("PORT".into(), "0".into()),
        ("DATABASE_URL".into(), database.url.clone()),
        ("LOG_DIR".into(), log_dir.display().to_string()),
        (
            "SECRET_KEY".into(),
            "test-secret-key-that-is-long-enough-0123456789".into(),
        ),
        ("POSTS_PER_PAGE".into(), "5".into()),
        // A test that reads the metrics asks for them (`127.0.0.1:0`, a free port).
        ("METRICS_ADDR".into(), "off".into()),
    ]);
    for (name, value) in overrides {
        vars.insert(name.to_string(), value.to_string());
    }
    let settings =
        Settings::from_lookup(|name| vars.get(name).cloned()).expect("valid test settings");
    let application = Application::build_with_routes(settings.clone(), more_routes)
        .await
        .expect("the application starts");
    let port = application.port();
    let metrics_address = application
        .metrics_address()
        .map(|address| format!("http://{address}"));
    tokio::spawn(application.run_until_stopped());
    let pool = db::connect(&settings.database_url, 2, Duration::from_secs(5))
        .expect("the test database opens");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_address,
        pool,
        log_dir,
        settings,
        _database: database,
        _dir: dir,
    }
}

impl TestApp {
    /// A new browser with its own cookies, not following redirects (tests look at them).
    pub fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// A browser logged in as a newly registered user.
    pub async fn logged_in(&self, username: &str) -> Browser {
        let browser = self.browser();
        let response = browser
            .register(
                username,
                &format!("{username}@example.com"),
                "correct horse",
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "registering {username}"
        );
        let response = browser.login(username, "correct horse").await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "logging in {username}"
        );
        browser
    }

    /// Runs a query against the app's database.
    pub fn query<T>(&self, f: impl FnOnce(&mut db::DbConnection) -> T) -> T {
        let mut conn = self.pool.get().expect("a connection");
        f(&mut conn)
    }
}

/// A cookie-keeping HTTP client pointed at the app.
pub struct Browser {
    pub client: reqwest::Client,
    pub address: String,
}

impl Browser {
    /// A new browser for the server at `address`, with its own cookies, not following
    /// redirects (tests look at them).
    pub fn new(address: &str) -> Self {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .expect("a client"),
            address: address.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the request is sent")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a body")
    }

    /// Posts a form as it is, without adding a CSRF token.
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .expect("the request is sent")
    }

    /// Posts a form with the CSRF token of this browser's session, as the site's own forms do.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post_raw(path, &fields).await
    }

    /// The session's CSRF token, read from a form the way a browser would see it.
    pub async fn csrf_token(&self) -> String {
        let html = self.get_html("/auth/register").await;
        let html = if html.contains("csrf_token") {
            html
        } else {
            self.get_html("/explore").await
        };
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).expect("a page with a CSRF token") + marker.len();
        html[start..start + 64].to_string()
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.post(
            "/auth/register",
            &[
                ("username", username),
                ("email", email),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/auth/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Logs in with "remember me" ticked and returns the remember-me cookie's value.
    pub async fn login_remembered(&self, username: &str, password: &str) -> String {
        let response = self
            .post(
                "/auth/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("remember_me", "y"),
                ],
            )
            .await;
        set_cookie(&response, "remember_token").expect("a remember-me cookie")
    }

    pub async fn publish(&self, body: &str) -> Response {
        self.post("/index", &[("post", body)]).await
    }
}

/// The Location header of a redirect.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII location")
        .to_string()
}

/// The `X-Request-Id` of a response: the id its page, log lines and mail carry.
pub fn request_id(response: &Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("an ASCII request id")
        .to_string()
}

/// The value of the `name` cookie a response sets.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .cookies()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
}

/// The whole `Set-Cookie` header for the session cookie (with its attributes).
pub fn session_set_cookie(response: &Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("microblog_session="))
        .expect("a session cookie")
        .to_string()
}

impl TestApp {
    /// An API token pair for `username` (password "correct horse"), as `POST /api/tokens`
    /// answers it: `access_token`, `refresh_token`, …
    pub async fn api_tokens(&self, username: &str) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/api/tokens", self.address))
            .basic_auth(username, Some("correct horse"))
            .send()
            .await
            .expect("the request is sent")
            .json()
            .await
            .expect("a token pair")
    }

    /// GET `path` from a fresh client that sends nothing but the remember-me cookie, as a
    /// browser does after a restart.
    pub async fn get_with_only_remember_me(&self, path: &str, token: &str) -> Response {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("a client")
            .get(format!("{}{path}", self.address))
            .header("Cookie", format!("remember_token={token}"))
            .send()
            .await
            .expect("the request is sent")
    }
}
