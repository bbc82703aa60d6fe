//! Pipelined requests that are never read: 200 connections each send 1,000 requests for a
//! response of tens of KB (the OpenAPI document, then a static file) and read nothing.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::{p99, watch, Server};

async fn flood(server: &Server, path: &str) {
    let before = server.rss_mb();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(server, done.clone());
    let requests = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").repeat(1_000);
    let mut senders = Vec::new();
    for _ in 0..200 {
        let (port, requests) = (server.port, requests.clone());
        senders.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()?;
            let sent = tokio::time::timeout(
                Duration::from_secs(5),
                stream.write_all(requests.as_bytes()),
            )
            .await;
            Some((stream, sent.is_ok()))
        }));
    }
    let mut streams = Vec::new();
    for sender in senders {
        streams.extend(sender.await.ok().flatten());
    }
    let all_sent = streams.iter().filter(|(_, sent)| *sent).count();
    tokio::time::sleep(Duration::from_secs(3)).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (peak, mut latencies) = watcher.await.unwrap();
    drop(streams);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_mb();
    println!("pipelined and unread: 200 connections × 1,000 × GET {path}");
    println!("  resident: {before:.0} MB before, {peak:.0} MB peak, {after:.0} MB after the connections closed");
    println!("  connections that sent all 1,000 within 5 s: {all_sent} of 200 (unread requests wait in the kernel's buffers)");
    println!("  /readyz p99 meanwhile: {}", p99(&mut latencies));
}

pub async fn pipelining() {
    let server = Server::start(&[("LOG_LEVEL", "warn")]);
    flood(&server, "/api/openapi.json").await;
    flood(&server, "/static/style.css").await;
}
