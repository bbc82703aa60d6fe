//! The metrics: on METRICS_ADDR only, counted by route template and status, with labels that
//! nothing a stranger sends can multiply; and the admins' status page.

use std::time::Duration;

use microblog::config::Settings;
use microblog::models::User;
use microblog::startup::Application;
use reqwest::StatusCode;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{spawn_app_with, TestApp};

/// The text of `GET /metrics`.
pub async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_ref().expect("METRICS_ADDR is set");
    reqwest::get(format!("{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample line that starts with `series` (0 when there is none).
pub fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The number of series (sample lines), leaving out 5xx answers: a 503 under the whole
/// suite's load is a new status, not a series a client's input made.
fn series(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.contains("status=\"5"))
        .count()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_never_on_the_public_port() {
    // Arrange
    let app = spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let browser = app.browser();

    // Act
    let public = browser.get("/metrics").await;
    let response = reqwest::get(format!("{}/metrics", app.metrics_address.as_ref().unwrap()))
        .await
        .unwrap();

    // Assert
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert!(
        public.text().await.unwrap().contains("<footer"),
        "our 404 page"
    );
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    for name in [
        "# TYPE microblog_http_requests_total counter",
        "# TYPE microblog_http_request_duration_seconds histogram",
        "microblog_db_pool_connections{state=\"idle\"}",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "microblog_error_mails_total{outcome=\"sent\"} 0",
        "microblog_job_runs_total{outcome=\"dead\"} 0",
        "# TYPE microblog_job_duration_seconds histogram",
    ] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
}

#[tokio::test]
async fn requests_panics_and_refusals_are_counted_by_route_template_and_status() {
    // Arrange
    let app = spawn_failing_app(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    for name in ["susan", "nobody-1", "nobody-2"] {
        susan.get(&format!("/user/{name}")).await;
    }
    susan.post("/test/panic", &[]).await;
    susan.post_raw("/index", &[("post", "no token")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = scrape(&app).await;

    // Assert
    let user = |status: u16| {
        value(
            &text,
            &format!("microblog_http_requests_total{{method=\"GET\",route=\"/user/{{username}}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!((user(200), user(404)), (1.0, 2.0), "{text}");
    assert_eq!(value(&text, "microblog_panics_total"), 1.0);
    assert_eq!(value(&text, "microblog_unhandled_errors_total"), 1.0);
    assert_eq!(value(&text, "microblog_csrf_refusals_total"), 1.0);
    assert_eq!(
        value(&text, "microblog_client_errors_total{status=\"403\"}"),
        1.0
    );
    assert!(!text.contains("nobody"), "never a raw path");
}

#[tokio::test]
async fn ten_thousand_random_paths_names_and_queries_add_no_series() {
    // Arrange: every kind of request once, so each series that can exist does
    let app = spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0"), ("RATE_LIMITS", "0")]).await;
    let client = reqwest::Client::new();
    let kinds = |n: usize| -> (reqwest::Method, String) {
        let noise = format!("{:x}", n.wrapping_mul(2_654_435_761));
        match n % 5 {
            0 => (reqwest::Method::GET, format!("/no/such/{noise}")),
            1 => (reqwest::Method::GET, format!("/user/{noise}")),
            2 => (reqwest::Method::GET, format!("/search?q={noise}&page={n}")),
            3 => (reqwest::Method::GET, format!("/explore?{noise}={noise}")),
            _ => (
                reqwest::Method::from_bytes(
                    format!("X{}", &noise[..4.min(noise.len())])
                        .to_uppercase()
                        .as_bytes(),
                )
                .unwrap_or(reqwest::Method::PATCH),
                format!("/{noise}"),
            ),
        }
    };
    for n in 0..10 {
        let (method, path) = kinds(n);
        client
            .request(method, format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
    }
    let before = series(&scrape(&app).await);

    // Act
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, address) = (client.clone(), app.address.clone());
        tasks.push(tokio::spawn(async move {
            for n in (worker..10_000).step_by(16) {
                let (method, path) = kinds(n + 10);
                let _ = client
                    .request(method, format!("{address}{path}"))
                    .send()
                    .await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = scrape(&app).await;

    // Assert
    assert_eq!(series(&after), before, "{after}");
    assert!(value(&after, "microblog_client_errors_total{status=\"404\"}") > 4_000.0);
}

#[tokio::test]
async fn a_taken_metrics_port_stops_the_start_with_a_line_naming_metrics_addr() {
    // Arrange
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("m.db").display().to_string();
    let vars = [
        ("PORT", "0"),
        ("METRICS_ADDR", address.as_str()),
        ("DATABASE_URL", database.as_str()),
        (
            "SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        ),
    ];
    let settings = Settings::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();

    // Act
    let error = Application::build(settings).await.err().expect("refused");

    // Assert
    let line = error.to_string();
    assert!(line.starts_with("METRICS_ADDR: cannot listen on"), "{line}");
    assert!(!line.contains('\n'));
}

#[tokio::test]
async fn the_status_page_is_for_admins_and_its_data_counts_the_last_minutes() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let susan = app.logged_in("susan").await;
    let root = app.logged_in("root").await;
    app.query(|conn| User::set_role(conn, "root", "admin").unwrap());
    susan.post("/test/error", &[]).await;
    for _ in 0..3 {
        susan.get("/no-such-page").await;
    }

    // Act
    let anonymous = app.browser().get("/admin/status").await;
    let user = susan.get("/admin/status.json").await;
    let page = root.get_html("/admin/status").await;
    let data: serde_json::Value = root.get("/admin/status.json").await.json().await.unwrap();

    // Assert
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(user.status(), StatusCode::FORBIDDEN);
    assert!(page.contains("<script src=\"/static/status.js\" defer></script>"));
    assert!(
        page.contains("href=\"/admin/errors\""),
        "it links to the inbox"
    );
    // Summed over the points: the traffic may fall on either side of a minute's end.
    let points = data["points"].as_array().unwrap();
    let sum = |name: &str| {
        points
            .iter()
            .map(|p| p[name].as_f64().unwrap())
            .sum::<f64>()
    };
    assert!(sum("server_errors") >= 1.0, "{points:?}");
    assert!(sum("client_errors") >= 3.0, "{points:?}");
    assert!(sum("requests_per_second") > 0.0);
    assert!(points.last().unwrap()["resident_mb"].as_f64().unwrap() > 1.0);
}
