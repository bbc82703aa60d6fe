//! The attacks of "Hold under hostile load and faults", reproduced against the release build on
//! loopback, with bounded counts and time. Each attack gets a fresh server (its own database and
//! log folder) and prints its figures; the README's "Under attack" table comes from this.
//!
//!     cargo build --release && cargo run --release --example attack
//!
//! It needs nothing else: the hanging mail server is a socket held open here. One attack by name:
//! `cargo run --release --example attack -- pipelining` (`login`, `limits`, `slow`, `mail`,
//! `logs`, `pipelining`, or `soak`, which runs for SOAK_SECONDS, 600 by default, and only when
//! named). With `DATABASE_URL=postgres://…/postgres` (a server, as `scripts/postgres.sh` prints)
//! each attack's server gets a database of its own there instead of a SQLite file.

mod pipelining;
mod soak;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// 2,000 failed logins from 32 clients, and 150 concurrent registrations (limits off, to load
/// the hashing itself).
async fn login_flood() {
    let server = Server::start(&[("RATE_LIMITS", "0"), ("LOG_LEVEL", "warn")]);
    register(&server, "victim").await;
    let before = server.rss_mb();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(&server, done.clone());
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for _ in 0..32 {
        let (client, token) = browser(&server).await;
        clients.push((client, token));
    }
    let server = Arc::new(server);
    let mut tasks = Vec::new();
    for (n, (client, token)) in clients.into_iter().enumerate() {
        let (server, statuses) = (server.clone(), statuses.clone());
        let logins = 2000 / 32 + usize::from(n < 2000 % 32);
        tasks.push(tokio::spawn(async move {
            for _ in 0..logins {
                let status = post(
                    &server,
                    &client,
                    &token,
                    "/auth/login",
                    &[("username", "victim"), ("password", "wrong password")],
                )
                .await;
                statuses.lock().unwrap().push(status);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    done.store(true, Ordering::SeqCst);
    let (peak, mut latencies) = watcher.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_mb();
    let statuses = statuses.lock().unwrap().clone();
    println!("login flood: 2,000 failed logins from 32 clients (RATE_LIMITS=0)");
    println!("  resident: {before:.0} MB before, {peak:.0} MB peak, {after:.0} MB after");
    println!("  /readyz p99 during the flood: {}", p99(&mut latencies));
    println!(
        "  answers: {} form errors (422), {} busy (503), {} other",
        count(&statuses, 422),
        count(&statuses, 503),
        statuses.len() - count(&statuses, 422) - count(&statuses, 503)
    );

    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(&server, done.clone());
    let mut tasks = Vec::new();
    for n in 0..150 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            register(&server, &format!("crowd{n}")).await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap_or(0));
    }
    done.store(true, Ordering::SeqCst);
    let (peak, mut latencies) = watcher.await.unwrap();
    println!("150 concurrent registrations: {peak:.0} MB peak, {} registered (303), {} busy (503), /readyz p99 {}", count(&statuses, 303), count(&statuses, 503), p99(&mut latencies));
    println!(
        "  WAL after both: {:.2} MB beside a {:.2} MB database",
        server.file_size_mb("attack.db-wal"),
        server.file_size_mb("attack.db")
    );
}

/// Guessing one account's password, and mail-bombing one address, with the limits on.
async fn guessing_and_mail_bombing() {
    let server = Server::start(&[]);
    register(&server, "victim").await;
    let (client, token) = browser(&server).await;
    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses.push(
            post(
                &server,
                &client,
                &token,
                "/auth/login",
                &[("username", "victim"), ("password", "wrong password")],
            )
            .await,
        );
    }
    let right = post(
        &server,
        &client,
        &token,
        "/auth/login",
        &[("username", "victim"), ("password", PASSWORD)],
    )
    .await;
    println!("password guessing: 200 wrong passwords for one account");
    println!(
        "  {} refused with 429, {} checked; then the right password: {right}",
        count(&statuses, 429),
        statuses.len() - count(&statuses, 429)
    );
    let mut statuses = Vec::new();
    for _ in 0..260 {
        let (client, token) = browser(&server).await;
        statuses.push(
            post(
                &server,
                &client,
                &token,
                "/auth/reset_password_request",
                &[("email", "victim@example.com")],
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("mail bombing: 260 reset requests for one address");
    println!(
        "  {} accepted, {} refused with 429, {} mails written",
        count(&statuses, 303),
        count(&statuses, 429),
        server.mails()
    );
    println!(
        "  WARN lines for the limits: {}",
        server
            .log("microblog.log")
            .matches("Rate limit reached")
            .count()
    );
}

/// 1,030 connections that announce 60,000 bytes and send ten.
async fn slow_bodies() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = Server::start(&[]);
    let errors_before = server.log("errors.log").lines().count();
    let mut held = Vec::new();
    for _ in 0..1030 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await {
            let head = "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nusername=x";
            let _ = stream.write_all(head.as_bytes()).await;
            held.push(stream);
        }
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (mut ok, mut tries, mut latencies) = (0, 0, Vec::new());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(12) {
        tries += 1;
        let t = Instant::now();
        if client
            .get(format!("{}/healthz", server.address))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ok += 1;
        }
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut timed_out = 0;
    for mut stream in held {
        let mut answer = [0u8; 32];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), stream.read(&mut answer)).await
        {
            if answer[..n].starts_with(b"HTTP/1.1 408") {
                timed_out += 1;
            }
        }
    }
    println!("slow bodies: 1,030 connections announcing 60,000 bytes and sending ten");
    println!("  /readyz answered {ok} of {tries} during the 12 s (p99 {}); {timed_out} slow clients got our 408 and were closed", p99(&mut latencies));
    println!(
        "  errors.log lines added: {}",
        server.log("errors.log").lines().count() - errors_before
    );
}

/// A mail server that accepts and never answers, during 60 failures of three kinds.
async fn hung_mail_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let port = smtp_port.to_string();
    let server = Server::start(&[
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("MAIL_TIMEOUT", "2"),
    ]);
    let (client, token) = browser(&server).await;
    let mut latencies = Vec::new();
    for n in 0..60 {
        let experiment = ["panic", "template-error"][n % 2];
        let start = Instant::now();
        post(&server, &client, &token, &format!("/lab/{experiment}"), &[]).await;
        latencies.push(start.elapsed());
    }
    tokio::time::sleep(Duration::from_secs(7)).await;
    println!("hung mail server: 60 failures of two kinds (panic, template-error) while SMTP accepts and never answers");
    println!(
        "  page p99: {}; mails attempted: {}; ERROR lines about sending: {}",
        p99(&mut latencies),
        connections.load(Ordering::SeqCst),
        server
            .log("errors.log")
            .matches("could not be sent")
            .count()
    );
}

/// Malformed requests, and failed reset mails with RUST_BACKTRACE=1.
async fn log_flooding() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let server = Server::start(&[
        ("RUST_BACKTRACE", "1"),
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &closed),
        ("RATE_LIMITS", "0"),
    ]);
    for _ in 0..200 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await {
            let _ = stream
                .write_all(b"GET /<> HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .await;
            let mut answer = [0u8; 64];
            let _ = stream.read(&mut answer).await;
        }
    }
    register(&server, "victim").await;
    for _ in 0..40 {
        let (client, token) = browser(&server).await;
        post(
            &server,
            &client,
            &token,
            "/auth/reset_password_request",
            &[("email", "victim@example.com")],
        )
        .await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = server.log("microblog.log");
    let longest = all.lines().map(str::len).max().unwrap_or(0);
    println!("log flooding: 200 x GET /<>, then 40 reset mails failing with RUST_BACKTRACE=1");
    println!(
        "  errors.log lines: {}; longest line in microblog.log: {longest} bytes; rotated files: {}",
        server.log("errors.log").lines().count(),
        server.rotated_files()
    );
}

#[tokio::main]
async fn main() {
    let only: Option<String> = std::env::args().nth(1);
    let run = |name: &str| only.as_deref().is_none_or(|only| only == name);
    if run("login") {
        login_flood().await;
    }
    if run("limits") {
        guessing_and_mail_bombing().await;
    }
    if run("slow") {
        slow_bodies().await;
    }
    if run("mail") {
        hung_mail_server().await;
    }
    if run("logs") {
        log_flooding().await;
    }
    if run("pipelining") {
        pipelining::pipelining().await;
    }
    if only.as_deref() == Some("soak") {
        soak::soak().await;
    }
}
