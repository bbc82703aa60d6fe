//! The attacks of "Hold under hostile load and faults", reproduced against the release build on
//! loopback, with bounded counts and time. Each attack gets a fresh server (its own database and
//! log folder) and prints its figures; the README's "Under attack" table comes from this.
//!
//!     cargo build --release && cargo run --release --example attack
//!
//! It needs nothing else: the hanging mail server is a socket held open here. One attack by name:
//! `cargo run --release --example attack -- pipelining` (`login`, `metrics`, `limits`, `slow`,
//! `mail`, `sentry`, `logs`, `uploads`, `pipelining`, `pages`, or `soak`, which runs for SOAK_SECONDS, 600 by default, and only when
//! named). With `DATABASE_URL=postgres://…/postgres` (a server, as `scripts/postgres.sh` prints)
//! each attack's server gets a database of its own there instead of a SQLite file.

mod faults;
mod floods;
mod pages;
mod pipelining;
mod soak;
mod uploads;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse";

/// The release binary, running with its own temporary database and log folder.
struct Server {
    child: Child,
    address: String,
    port: u16,
    dir: tempfile::TempDir,
}

/// A database for one attack's server: a SQLite file in its folder, or, when DATABASE_URL names
/// a PostgreSQL server, a new database there.
fn database_for(dir: &std::path::Path) -> String {
    use diesel::{Connection, RunQueryDsl};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    match std::env::var("DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!(
                "attack_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            );
            let mut conn = diesel::PgConnection::establish(&server).expect("the PostgreSQL server");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("a new database");
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
        _ => dir.join("attack.db").display().to_string(),
    }
}

impl Server {
    fn start(vars: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/release/microblog"
        ));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PORT", port.to_string())
            .env("METRICS_ADDR", "off")
            .env("DATABASE_URL", database_for(dir.path()))
            .env("LOG_DIR", dir.path().join("logs"))
            .env("SECRET_KEY", "attack-harness-secret-key-0123456789abcdef")
            .env("ERROR_LAB", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in vars {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .expect("target/release/microblog: run `cargo build --release` first");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the server starts"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        }
    }

    /// Resident memory, in MB.
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("logs").join(name)).unwrap_or_default()
    }

    fn file_size_mb(&self, name: &str) -> f64 {
        std::fs::metadata(self.dir.path().join(name)).map_or(0.0, |m| m.len() as f64 / 1e6)
    }

    fn mails(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("logs/mail")).map_or(0, |dir| dir.count())
    }

    fn rotated_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("logs")).map_or(0, |dir| {
            dir.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".log."))
                .count()
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser-like client: cookies, no redirects, and the session's CSRF token.
async fn browser(server: &Server) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = client
        .get(format!("{}/auth/login", server.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF token") + marker.len();
    (client, html[start..start + 64].to_string())
}

async fn post(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    path: &str,
    form: &[(&str, &str)],
) -> u16 {
    let mut fields = form.to_vec();
    fields.push(("csrf_token", token));
    match client
        .post(format!("{}{path}", server.address))
        .form(&fields)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

async fn register(server: &Server, name: &str) -> u16 {
    let (client, token) = browser(server).await;
    let email = format!("{name}@example.com");
    post(
        server,
        &client,
        &token,
        "/auth/register",
        &[
            ("username", name),
            ("email", &email),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    )
    .await
}

/// Samples the server's memory and `/readyz` latency (it asks the database) until `done`;
/// returns (peak MB, latencies).
fn watch(server: &Server, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<(f64, Vec<Duration>)> {
    let pid = server.child.id();
    let health = format!("{}/readyz", server.address);
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let (mut peak, mut latencies) = (0.0f64, Vec::new());
        while !done.load(Ordering::SeqCst) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kb) = status.lines().find_map(|l| l.strip_prefix("VmRSS:")) {
                let mb = kb
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(0.0)
                    / 1024.0;
                peak = peak.max(mb);
            }
            let start = Instant::now();
            let _ = client.get(&health).send().await;
            latencies.push(start.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (peak, latencies)
    })
}

fn p99(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let p = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    format!("{:.1} ms", p.as_secs_f64() * 1000.0)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::main]
async fn main() {
    let only: Option<String> = std::env::args().nth(1);
    let run = |name: &str| only.as_deref().is_none_or(|only| only == name);
    if run("login") {
        floods::login_flood().await;
    }
    if run("metrics") {
        floods::metrics_cardinality().await;
    }
    if run("limits") {
        floods::guessing_and_mail_bombing().await;
    }
    if run("slow") {
        faults::slow_bodies().await;
    }
    if run("mail") {
        faults::hung_mail_server().await;
    }
    if run("sentry") {
        faults::hung_sentry().await;
    }
    if run("logs") {
        faults::log_flooding().await;
    }
    if run("uploads") {
        uploads::upload_flood().await;
    }
    if run("pipelining") {
        pipelining::pipelining().await;
    }
    if run("pages") {
        pages::kept_posts_churn().await;
    }
    if only.as_deref() == Some("soak") {
        soak::soak().await;
    }
}
