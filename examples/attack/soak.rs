//! Soak: mixed traffic for a long while (SOAK_SECONDS, 600 by default) — pages, posts, wrong
//! passwords, 404s, panics and API calls from 16 clients at once — with the server's resident
//! memory, open files and p99 latency printed each minute. All three should stay flat.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{browser, post, register, Server, PASSWORD};

/// What the clients did in one window: (latency, status) per request.
type Window = Arc<Mutex<Vec<(Duration, u16)>>>;

/// A small xorshift generator: enough to vary the traffic, without a dependency.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

fn open_files(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.child.id())).map_or(0, |dir| dir.count())
}

/// An API access token for `name`.
async fn access_token(server: &Server, name: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/tokens", server.address))
        .basic_auth(name, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// One client's loop: a random mix of what real and hostile visitors do.
async fn client(server: Arc<Server>, n: u64, window: Window, stop: Arc<AtomicBool>) {
    let name = format!("soaker{n}");
    let (browser_client, token) = browser(&server).await;
    post(
        &server,
        &browser_client,
        &token,
        "/auth/login",
        &[("username", &name), ("password", PASSWORD)],
    )
    .await;
    let api = reqwest::Client::new();
    let mut bearer = access_token(&server, &name).await;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (n + 1));
    while !stop.load(Ordering::SeqCst) {
        let start = Instant::now();
        let base = &server.address;
        let status = match dice.roll(20) {
            0..=5 => get(&browser_client, &format!("{base}/index")).await,
            6..=8 => get(&browser_client, &format!("{base}/explore")).await,
            9..=10 => {
                get(
                    &browser_client,
                    &format!("{base}/user/soaker{}", dice.roll(16)),
                )
                .await
            }
            11 => {
                let body = format!("soak post {}", dice.roll(1_000_000));
                post(
                    &server,
                    &browser_client,
                    &token,
                    "/index",
                    &[("post", &body)],
                )
                .await
            }
            12 => {
                let stranger = reqwest::Client::new();
                let form = [("username", name.as_str()), ("password", "wrong password")];
                send(stranger.post(format!("{base}/auth/login")).form(&form)).await
            }
            13..=14 => {
                get(
                    &browser_client,
                    &format!("{base}/no/such/page/{}", dice.roll(1000)),
                )
                .await
            }
            15 => post(&server, &browser_client, &token, "/lab/panic", &[]).await,
            16..=17 => send(api.get(format!("{base}/api/users/1")).bearer_auth(&bearer)).await,
            _ => {
                let body = serde_json::json!({"body": "from the API"});
                let status = send(
                    api.post(format!("{base}/api/posts"))
                        .bearer_auth(&bearer)
                        .json(&body),
                )
                .await;
                if status == 401 {
                    bearer = access_token(&server, &name).await;
                }
                status
            }
        };
        window.lock().unwrap().push((start.elapsed(), status));
    }
}

async fn get(client: &reqwest::Client, url: &str) -> u16 {
    send(client.get(url)).await
}

async fn send(request: reqwest::RequestBuilder) -> u16 {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    }
}

pub async fn soak() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // Limits off: the wrong passwords are to cost real hashes, not 429s.
    let server = Arc::new(Server::start(&[
        ("RATE_LIMITS", "0"),
        ("LOG_LEVEL", "info"),
    ]));
    for n in 0..16 {
        register(&server, &format!("soaker{n}")).await;
    }
    let (window, stop) = (Window::default(), Arc::new(AtomicBool::new(false)));
    let clients: Vec<_> = (0..16)
        .map(|n| tokio::spawn(client(server.clone(), n, window.clone(), stop.clone())))
        .collect();
    println!("soak: {seconds} s of mixed traffic from 16 clients (release build, SQLite or DATABASE_URL)");
    println!("  minute  requests  req/s   p99 ms  5xx other than panics  resident MB  open files");
    let start = Instant::now();
    let mut minute = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        let left = Duration::from_secs(seconds).saturating_sub(start.elapsed());
        let length = Duration::from_secs(60).min(left);
        tokio::time::sleep(length).await;
        minute += 1;
        let mut taken = std::mem::take(&mut *window.lock().unwrap());
        taken.sort();
        let p99 = taken
            .get(taken.len() * 99 / 100)
            .map_or(0.0, |(d, _)| d.as_secs_f64() * 1000.0);
        let unexpected = taken.iter().filter(|(_, s)| *s > 500 || *s == 0).count();
        println!(
            "  {minute:>6}  {:>8}  {:>5.0}  {p99:>7.1}  {unexpected:>21}  {:>11.1}  {:>10}",
            taken.len(),
            taken.len() as f64 / length.as_secs_f64(),
            server.rss_mb(),
            open_files(&server),
        );
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        let _ = client.await;
    }
    println!(
        "  errors.log: {} lines; error mails: {}; rotated log files: {}",
        server.log("errors.log").lines().count(),
        server.mails(),
        server.rotated_files()
    );
}
