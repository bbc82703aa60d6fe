//! A real Prometheus scrapes the app: Debian's `prometheus`, started here on loopback with a
//! scrape config for the app's METRICS_ADDR; the counts of known traffic are read back through
//! its HTTP API. `promtool` checks the exposition and the alert rules.
//!
//! `.ci/run` installs the package and sets REQUIRE_PROMETHEUS=1, so a missing Prometheus fails
//! there; on a machine with only Rust, these tests say they were skipped and pass.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::TestProcess;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

/// Whether Prometheus is here; fails when it is required and missing.
fn installed(test: &str) -> bool {
    let here = std::path::Path::new(PROMETHEUS).exists() && std::path::Path::new(PROMTOOL).exists();
    if !here {
        assert!(
            std::env::var_os("REQUIRE_PROMETHEUS").is_none(),
            "REQUIRE_PROMETHEUS is set but {PROMETHEUS} is missing: apt-get install --no-install-recommends prometheus"
        );
        eprintln!("{test} skipped: {PROMETHEUS} is not installed");
    }
    here
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A Prometheus scraping `target` every second, gone when dropped.
struct Prometheus {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Started on a free port; a port another test took meanwhile makes it try another.
    fn start(target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                 scrape_configs:\n  - job_name: microblog\n    static_configs: [{{targets: [\"{target}\"]}}]\n"
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        for attempt in 0..5 {
            let address = format!("127.0.0.1:{}", free_port());
            let log = dir.path().join(format!("prometheus-{attempt}.log"));
            let mut child = Command::new(PROMETHEUS)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={address}"))
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("prometheus starts");
            std::thread::sleep(Duration::from_millis(500));
            if child.try_wait().ok().flatten().is_none() {
                return Prometheus {
                    child,
                    address: format!("http://{address}"),
                    _dir: dir,
                };
            }
        }
        let said = std::fs::read_to_string(dir.path().join("prometheus-4.log")).unwrap_or_default();
        panic!("Prometheus did not start: {said}");
    }

    /// The value of `query` once it equals `expected` (or whatever it was after 40 seconds:
    /// Prometheus finds a new target within about 5).
    async fn wait_for(&self, query: &str, expected: f64) -> Option<f64> {
        let client = reqwest::Client::new();
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < Duration::from_secs(40) {
            if let Ok(response) = client
                .get(format!("{}/api/v1/query", self.address))
                .query(&[("query", query)])
                .send()
                .await
            {
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    last = body["data"]["result"][0]["value"][1]
                        .as_str()
                        .and_then(|value| value.parse::<f64>().ok());
                    if last == Some(expected) {
                        return last;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        last
    }
}

/// Runs `promtool` with `args`, feeding it `input`; its exit status and output.
fn promtool(args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn prometheus_scrapes_the_counts_of_known_traffic() {
    if !installed("prometheus_scrapes_the_counts_of_known_traffic") {
        return;
    }
    // Arrange
    let app = TestProcess::start(&[("METRICS_ADDR", "127.0.0.1:0"), ("ERROR_LAB", "1")]);
    let metrics = app.metrics_address();
    let prometheus = Prometheus::start(&metrics);
    let up = prometheus.wait_for("up", 1.0).await;
    assert_eq!(up, Some(1.0), "Prometheus reached the target");
    let browser = app.browser();

    // Act
    for _ in 0..7 {
        browser.get("/explore").await;
    }
    for _ in 0..3 {
        browser.post("/lab/panic", &[]).await;
    }
    let explore = prometheus
        .wait_for(
            r#"sum(microblog_http_requests_total{route="/explore",status="200"})"#,
            7.0,
        )
        .await;
    let panics = prometheus.wait_for("microblog_panics_total", 3.0).await;
    let five_hundreds = prometheus
        .wait_for(
            r#"sum(microblog_http_requests_total{route="/lab/{experiment}",status="500"})"#,
            3.0,
        )
        .await;

    // Assert
    assert_eq!(explore, Some(7.0));
    assert_eq!(panics, Some(3.0));
    assert_eq!(five_hundreds, Some(3.0));
}

#[tokio::test]
async fn promtool_finds_nothing_wrong_with_the_metrics_or_the_alert_rules() {
    if !installed("promtool_finds_nothing_wrong_with_the_metrics_or_the_alert_rules") {
        return;
    }
    // Arrange: traffic of every kind, so that every family has a series
    let app = TestProcess::start(&[("METRICS_ADDR", "127.0.0.1:0"), ("ERROR_LAB", "1")]);
    let metrics = app.metrics_address();
    let browser = app.browser();
    for path in [
        "/explore",
        "/no-such-page",
        "/user/nobody",
        "/static/style.css",
    ] {
        browser.get(path).await;
    }
    browser.post("/lab/panic", &[]).await;
    browser.post_raw("/lab/panic", &[]).await;

    // Act
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (metrics_ok, metrics_said) = promtool(&["check", "metrics"], &text);
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus/alerts.yml");
    let (rules_ok, rules_said) = promtool(&["check", "rules", rules], "");
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/prometheus.yml"
    );
    let (config_ok, config_said) = promtool(&["check", "config", config], "");

    // Assert
    assert!(metrics_ok, "{metrics_said}\n{text}");
    assert!(rules_ok, "{rules_said}");
    assert!(config_ok, "{config_said}");
}
