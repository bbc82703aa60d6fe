//! The kept posts (`src/web/post_fragments.rs`) as a stranger with an account would churn them:
//! thousands of distinct posts, more than the cache holds, then every page of them read by 16
//! clients at once, twice. The cache must stay inside its budget, so memory stays flat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::uploads::logged_in;
use crate::{p99, post, Server};

const POSTS: usize = 6_000;
const PER_PAGE: usize = 25;

pub async fn kept_posts_churn() {
    let server = Arc::new(Server::start(&[("RATE_LIMITS", "0")]));
    let (client, token, _) = logged_in(&server, "churner").await;
    let rss_at_start = server.rss_mb();

    // Arrange: 6,000 posts of 140 characters, each its own key
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (server, client, token) = (server.clone(), client.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for n in (worker..POSTS).step_by(16) {
                let body = format!("{n:0>8} {}", "churn ".repeat(22));
                post(
                    &server,
                    &client,
                    &token,
                    "/index",
                    &[("post", &body[..140])],
                )
                .await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let published = start.elapsed();

    let rss_after_posting = server.rss_mb();

    // Act: every page of explore and of the profile from 16 clients, in two rounds
    let pages = POSTS / PER_PAGE;
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let start = Instant::now();
        let latencies = read_every_page(&server, &client, pages).await;
        rounds.push((start.elapsed(), latencies, server.rss_mb()));
    }

    // Assert (printed): memory flat from one round to the next, every page answered
    println!("kept posts churn: {POSTS} posts of 140 characters, then every page of them, twice");
    println!(
        "  published {:.0} posts/s; memory {rss_at_start:.0} MB at start, {rss_after_posting:.0} MB after posting",
        POSTS as f64 / published.as_secs_f64(),
    );
    for (round, (took, mut latencies, rss)) in rounds.into_iter().enumerate() {
        let failed = latencies.iter().filter(|l| **l == Duration::MAX).count();
        println!(
            "  round {}: {:.0} pages/s, p99 {}, {failed} failed; memory {rss:.0} MB",
            round + 1,
            latencies.len() as f64 / took.as_secs_f64(),
            p99(&mut latencies),
        );
    }
}

/// Every page of explore and of the churner's profile, from 16 clients: each latency, or
/// `Duration::MAX` for a request that did not get its page.
async fn read_every_page(
    server: &Arc<Server>,
    client: &reqwest::Client,
    pages: usize,
) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (server, client) = (server.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (worker..pages * 2).step_by(16) {
                let page = n % pages + 1;
                let path = match n / pages {
                    0 => format!("/explore?page={page}"),
                    _ => format!("/user/churner?page={page}"),
                };
                let sent = Instant::now();
                let ok = client
                    .get(format!("{}{path}", server.address))
                    .send()
                    .await
                    .is_ok_and(|response| response.status() == 200);
                latencies.push(if ok { sent.elapsed() } else { Duration::MAX });
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies
}
