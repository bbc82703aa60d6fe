//! Soak: mixed traffic for a long while (SOAK_SECONDS, 600 by default) — pages, posts, wrong
//! passwords, 404s, panics and API calls from 16 clients at once — with the server's resident
//! memory, open files and p99 latency printed each minute. All three should stay flat, and no
//! request should end unexpectedly (a refused form, a 5xx other than the lab's panics, or no
//! answer).

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

/// The CSRF token in the page at `url` (a login gives the session a new one).
async fn token_of(client: &reqwest::Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF token") + marker.len();
    html[start..start + 64].to_string()
}

/// One client's loop: a random mix of what real and hostile visitors do. Posts made through the
/// API are deleted again, so the data set grows only by the few browser posts.
async fn client(server: Arc<Server>, n: u64, window: Window, stop: Arc<AtomicBool>) {
    let name = format!("soaker{n}");
    let base = server.address.clone();
    let (browser_client, token) = browser(&server).await;
    let login = [("username", name.as_str()), ("password", PASSWORD)];
    post(&server, &browser_client, &token, "/auth/login", &login).await;
    let token = token_of(&browser_client, &format!("{base}/index")).await;
    let api = reqwest::Client::new();
    let mut bearer = access_token(&server, &name).await;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (n + 1));
    while !stop.load(Ordering::SeqCst) {
        let start = Instant::now();
        let status = match dice.roll(100) {
            0..=29 => get(&browser_client, &format!("{base}/index")).await,
            30..=44 => get(&browser_client, &format!("{base}/explore")).await,
            45..=54 => {
                let user = format!("{base}/user/soaker{}", dice.roll(16));
                get(&browser_client, &user).await
            }
            55..=56 => {
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
            57..=61 => {
                let (stranger, token) = browser(&server).await;
                let form = [("username", name.as_str()), ("password", "wrong password")];
                post(&server, &stranger, &token, "/auth/login", &form).await
            }
            62..=71 => {
                let missing = format!("{base}/no/such/page/{}", dice.roll(1000));
                get(&browser_client, &missing).await
            }
            72..=74 => post(&server, &browser_client, &token, "/lab/panic", &[]).await,
            75..=89 => send(api.get(format!("{base}/api/users/1")).bearer_auth(&bearer)).await,
            _ => {
                let body = serde_json::json!({"body": "from the API"});
                let created = api
                    .post(format!("{base}/api/posts"))
                    .bearer_auth(&bearer)
                    .json(&body)
                    .send()
                    .await;
                match created {
                    Ok(response) if response.status() == 401 => {
                        bearer = access_token(&server, &name).await;
                        401
                    }
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let post: serde_json::Value = response.json().await.unwrap_or_default();
                        let url = format!("{base}/api/posts/{}", post["id"]);
                        send(api.delete(url).bearer_auth(&bearer)).await;
                        status
                    }
                    Err(_) => 0,
                }
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
    println!("  minute  requests  req/s   p99 ms  unexpected  resident MB  open files");
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
        // A refused form (403), a 5xx other than the lab's panics, or no answer at all.
        let unexpected = taken
            .iter()
            .filter(|(_, s)| *s == 0 || *s == 403 || *s > 500)
            .count();
        println!(
            "  {minute:>6}  {:>8}  {:>5.0}  {p99:>7.1}  {unexpected:>10}  {:>11.1}  {:>10}",
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
