//! Floods of costly work: failed logins and registrations (hashing), password guessing and
//! mail bombing (the rate limits), and requests that would multiply the metrics' series.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{browser, count, p99, post, register, watch, Server, PASSWORD};

/// 2,000 failed logins from 32 clients, and 150 concurrent registrations (limits off, to load
/// the hashing itself).
pub async fn login_flood() {
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
pub async fn guessing_and_mail_bombing() {
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

/// 20,000 requests from 16 clients to random paths, usernames, queries and methods: the series
/// on METRICS_ADDR before and after, and the scrape's size.
pub async fn metrics_cardinality() {
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or(9464);
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let server = Server::start(&[("METRICS_ADDR", &metrics_addr), ("RATE_LIMITS", "0")]);
    let series = |text: &str| text.lines().filter(|line| !line.starts_with('#')).count();
    let request = |n: usize| -> (reqwest::Method, String) {
        let noise = format!("{:x}", n.wrapping_mul(2_654_435_761));
        match n % 5 {
            0 => (reqwest::Method::GET, format!("/no/such/{noise}")),
            1 => (reqwest::Method::GET, format!("/user/{noise}")),
            2 => (reqwest::Method::GET, format!("/search?q={noise}")),
            3 => (reqwest::Method::POST, format!("/follow/{noise}")),
            _ => (
                reqwest::Method::from_bytes(format!("Z{noise}").to_uppercase().as_bytes())
                    .unwrap_or(reqwest::Method::PATCH),
                format!("/{noise}"),
            ),
        }
    };
    let client = reqwest::Client::new();
    for n in 0..10 {
        let (method, path) = request(n);
        let _ = client
            .request(method, format!("{}{path}", server.address))
            .send()
            .await;
    }
    let before = scrape(&metrics_addr).await;
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, address) = (client.clone(), server.address.clone());
        tasks.push(tokio::spawn(async move {
            for n in (worker..20_000).step_by(16) {
                let (method, path) = request(n + 10);
                let _ = client
                    .request(method, format!("{address}{path}"))
                    .send()
                    .await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let took = start.elapsed();
    let after = scrape(&metrics_addr).await;
    println!("metrics cardinality: 20,000 requests to random paths, names, queries and methods");
    println!(
        "  series {} → {}; scrape {} KB → {} KB; {:.0} requests/s; memory {:.0} MB",
        series(&before),
        series(&after),
        before.len() / 1024,
        after.len() / 1024,
        20_000.0 / took.as_secs_f64(),
        server.rss_mb(),
    );
}

/// The text of `GET /metrics` at `address` (empty if it does not answer).
async fn scrape(address: &str) -> String {
    match reqwest::get(format!("http://{address}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}
