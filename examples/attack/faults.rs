//! Slow clients and broken dependencies: bodies that never arrive, a mail server that hangs,
//! and input that would flood the logs.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{browser, p99, post, register, Server};

/// 1,030 connections that announce 60,000 bytes and send ten.
pub async fn slow_bodies() {
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

/// A server on a free port that accepts connections and never says a word: its port, and how
/// many connections it was offered.
fn hanging_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, connections)
}

/// A mail server that accepts and never answers, during 60 failures of three kinds.
pub async fn hung_mail_server() {
    let (smtp_port, connections) = hanging_server();
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

/// A Sentry that accepts and never answers, during 2,000 panics from 8 clients at once: the
/// pages' latency, the error mails (one group: a handful), and the server's memory.
pub async fn hung_sentry() {
    let (sentry_port, connections) = hanging_server();
    let dsn = format!("http://key@127.0.0.1:{sentry_port}/1");
    let server = Server::start(&[("SENTRY_DSN", &dsn), ("ERROR_MAIL_INTERVAL", "5")]);
    let rss_before = server.rss_mb();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, token) = browser(&server).await;
        let address = server.address.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..250 {
                let start = Instant::now();
                let _ = client
                    .post(format!("{address}/lab/panic"))
                    .form(&[("csrf_token", token.as_str())])
                    .send()
                    .await;
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    let page = Instant::now();
    let _ = reqwest::get(format!("{}/explore", server.address)).await;
    let explore = page.elapsed();
    tokio::time::sleep(Duration::from_secs(7)).await;
    println!("hung Sentry: 2,000 panics from 8 clients while Sentry accepts and never answers");
    println!(
        "  panic page p99: {}; /explore after: {} ms; connections to Sentry: {}; mails: {}; memory {:.0} MB → {:.0} MB",
        p99(&mut latencies),
        explore.as_millis(),
        connections.load(Ordering::SeqCst),
        server.mails(),
        rss_before,
        server.rss_mb(),
    );
}

/// Malformed requests, and failed reset mails with RUST_BACKTRACE=1.
pub async fn log_flooding() {
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
