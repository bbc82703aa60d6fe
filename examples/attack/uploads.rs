//! Uploads as an attacker sends them: many logged-in clients sending files at the limit at once,
//! decompression bombs, uploads that never finish, and strangers announcing 4 GB.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use reqwest::cookie::CookieStore;

use crate::{p99, post, register, watch, Server, PASSWORD};

const USERS: usize = 20;

/// A logged-in client, its CSRF token, and its session cookie (for raw connections).
pub async fn logged_in(server: &Server, name: &str) -> (reqwest::Client, String, String) {
    register(server, name).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = token_of(&client, &format!("{}/auth/login", server.address)).await;
    post(
        server,
        &client,
        &token,
        "/auth/login",
        &[("username", name), ("password", PASSWORD)],
    )
    .await;
    // A login begins a new session, with a token of its own.
    let token = token_of(&client, &format!("{}/edit_profile", server.address)).await;
    let url = server.address.parse().unwrap();
    let cookie = jar
        .cookies(&url)
        .and_then(|value| value.to_str().ok().map(str::to_string))
        .unwrap_or_default();
    (client, token, cookie)
}

async fn token_of(client: &reqwest::Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF token") + marker.len();
    html[start..start + 64].to_string()
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

fn histogram(statuses: &[u16]) -> String {
    let mut seen: Vec<(u16, usize)> = Vec::new();
    for status in statuses {
        match seen.iter_mut().find(|(s, _)| s == status) {
            Some((_, n)) => *n += 1,
            None => seen.push((*status, 1)),
        }
    }
    seen.sort();
    let seen: Vec<String> = seen.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    seen.join(", ")
}

/// An upload whose body stops after the file's head, on a connection held open.
async fn stall(server: &Server, token: &str, cookie: &str) -> Option<tokio::net::TcpStream> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .ok()?;
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b\r\n\
         Content-Disposition: form-data; name=\"avatar\"; filename=\"slow.png\"\r\n\r\n"
    );
    let head = format!(
        "POST /edit_profile HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n{body}"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    Some(stream)
}

/// First 20 users sending 10 files of 2 MiB and 5 bombs each, all at once, beside 1,000
/// strangers announcing 4 GB; then 8 users holding every turn with uploads that stall, and 8
/// others trying to upload meanwhile.
pub async fn upload_flood() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = Arc::new(Server::start(&[("RATE_LIMITS", "0")]));
    let mut users = Vec::new();
    for i in 0..USERS {
        let name = format!("uploader{i}");
        let (client, token, cookie) = logged_in(&server, &name).await;
        users.push((name, client, token, cookie));
    }
    let rest_mb = server.rss_mb();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(&server, done.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (name, client, token, _) in users.clone() {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let big = vec![0x89; 2 * 1024 * 1024 - 512];
            let files = (0..10).map(|_| upload(&server, &client, &token, &name, big.clone()));
            let mut statuses = futures_util::future::join_all(files).await;
            let bomb = microblog::uploads::samples::decompression_bomb();
            let bombs = (0..5).map(|_| upload(&server, &client, &token, &name, bomb.clone()));
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
            let read = tokio::io::AsyncReadExt::read_exact(&mut stream, &mut answer);
            match tokio::time::timeout(Duration::from_secs(15), read).await {
                Ok(Ok(_)) => String::from_utf8_lossy(&answer[9..12]).parse().unwrap_or(0),
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
    let strangers: Vec<u16> = strangers.into_iter().map(|s| s.unwrap_or(0)).collect();
    let peak_flood = server.rss_mb();

    // Every turn held by an upload that stalls; others try meanwhile.
    let mut stalled = Vec::new();
    for (_, _, token, cookie) in &users[..8] {
        stalled.extend(stall(&server, token, cookie).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = Instant::now();
    let tries = users[8..16].iter().map(|(name, client, token, _)| {
        upload(
            &server,
            client,
            token,
            name,
            microblog::uploads::samples::picture(),
        )
    });
    let blocked = futures_util::future::join_all(tries).await;
    let blocked_for = held.elapsed();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (name, client, token, _) = &users[16];
    let after = upload(
        &server,
        client,
        token,
        name,
        microblog::uploads::samples::picture(),
    )
    .await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (peak, mut latencies) = watcher.await.unwrap();
    drop(stalled);
    println!("uploads: {USERS} users × (10 files of 2 MiB + 5 bombs) at once, beside 1,000 strangers announcing 4 GB");
    println!(
        "  in {:.1} s: uploads answered {} ({}); strangers answered {}",
        took.as_secs_f64(),
        statuses.len(),
        histogram(&statuses),
        histogram(&strangers),
    );
    println!(
        "  memory {rest_mb:.0} MB at rest, {peak:.0} MB at the peak ({peak_flood:.0} MB after the flood), {:.0} MB at the end; /readyz p99 {}",
        server.rss_mb(),
        p99(&mut latencies)
    );
    println!(
        "  8 uploads stalled after their head held every turn: 8 others got {} after {:.1} s; once REQUEST_TIMEOUT ended the stalls, the next got {after}",
        histogram(&blocked),
        blocked_for.as_secs_f64(),
    );
}
