//! Uploads as an attacker sends them: many logged-in clients sending files at the limit at once,
//! decompression bombs, uploads that never finish, and strangers announcing 4 GB.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::{browser, p99, post, register, watch, Server, PASSWORD};

const USERS: usize = 20;

/// A logged-in client and its CSRF token.
async fn logged_in(server: &Server, name: &str) -> (reqwest::Client, String) {
    register(server, name).await;
    let (client, token) = browser(server).await;
    post(
        server,
        &client,
        &token,
        "/auth/login",
        &[("username", name), ("password", PASSWORD)],
    )
    .await;
    (client, token)
}

async fn upload(
    server: &Server,
    client: &reqwest::Client,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
) -> u16 {
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token.to_string())
        .text("username", name.to_string())
        .text("about_me", "")
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(bytes).file_name("a.png"),
        );
    match client
        .post(format!("{}/edit_profile", server.address))
        .multipart(form)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// 20 users × 10 uploads of 2 MiB at once, 100 bombs, 300 uploads that stall after their
/// head, and 1,000 strangers announcing 4 GB; memory, /readyz and the answers.
pub async fn upload_flood() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = Arc::new(Server::start(&[("RATE_LIMITS", "0")]));
    let mut users = Vec::new();
    for i in 0..USERS {
        let name = format!("uploader{i}");
        let (client, token) = logged_in(&server, &name).await;
        users.push((name, client, token));
    }
    let rest_mb = server.rss_mb();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(&server, done.clone());

    // Stalled uploads: the head of a file part, then nothing, on connections held open.
    let mut stalled = Vec::new();
    for i in 0..300 {
        let token = &users[i % USERS].2;
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await
        else {
            continue;
        };
        let body = format!(
            "--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b\r\n\
             Content-Disposition: form-data; name=\"avatar\"; filename=\"slow.png\"\r\n\r\n"
        );
        let head = format!(
            "POST /edit_profile HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n{body}"
        );
        let _ = stream.write_all(head.as_bytes()).await;
        stalled.push(stream);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (name, client, token) in users.clone() {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let uploads = (0..10).map(|_| {
                upload(
                    &server,
                    &client,
                    &token,
                    &name,
                    vec![0x89; 2 * 1024 * 1024 - 512],
                )
            });
            statuses.extend(futures_util::future::join_all(uploads).await);
            let bombs = (0..5).map(|_| {
                upload(
                    &server,
                    &client,
                    &token,
                    &name,
                    microblog::uploads::samples::decompression_bomb(),
                )
            });
            statuses.extend(futures_util::future::join_all(bombs).await);
            statuses
        }));
    }
    let strangers = (0..1000).map(|_| {
        let port = server.port;
        tokio::spawn(async move {
            let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return 0u16;
            };
            let head = "POST /edit_profile HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 4294967296\r\n\r\n--b\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let mut answer = [0u8; 12];
            match tokio::time::timeout(Duration::from_secs(15), tokio::io::AsyncReadExt::read(&mut stream, &mut answer)).await {
                Ok(Ok(n)) if n >= 12 => String::from_utf8_lossy(&answer[9..12]).parse().unwrap_or(0),
                _ => 0,
            }
        })
    });
    let strangers = futures_util::future::join_all(strangers).await;
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.unwrap_or_default());
    }
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (peak, mut latencies) = watcher.await.unwrap();
    drop(stalled);
    let strangers: Vec<u16> = strangers.into_iter().map(|s| s.unwrap_or(0)).collect();
    let histogram = |statuses: &[u16]| {
        let mut seen: Vec<(u16, usize)> = Vec::new();
        for status in statuses {
            match seen.iter_mut().find(|(s, _)| s == status) {
                Some((_, n)) => *n += 1,
                None => seen.push((*status, 1)),
            }
        }
        seen.sort();
        seen.iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("uploads: {USERS} users × (10 files of 2 MiB + 5 bombs) at once, 300 stalled uploads, 1,000 strangers announcing 4 GB");
    println!(
        "  in {:.1} s: uploads answered {} ({}); strangers answered {}",
        took.as_secs_f64(),
        statuses.len(),
        histogram(&statuses),
        histogram(&strangers),
    );
    println!(
        "  memory {rest_mb:.0} MB at rest, {peak:.0} MB at the peak, {:.0} MB after; /readyz p99 {}",
        server.rss_mb(),
        p99(&mut latencies)
    );
}
