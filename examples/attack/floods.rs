//! Floods of costly work: failed logins and registrations (hashing), password guessing and
//! mail bombing (the rate limits).

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
