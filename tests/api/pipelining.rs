//! HTTP/1.1 pipelining: requests sent back to back on one connection are answered in order,
//! and a client that sends many and reads none cannot make the server queue them in memory.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::TestProcess;

fn pipelined(path: &str, count: usize) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .repeat(count)
        .into_bytes()
}

#[tokio::test]
async fn pipelined_requests_are_all_answered_in_order() {
    // Arrange
    let app = TestProcess::start(&[]);
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let mut requests = pipelined("/healthz", 49);
    requests.extend_from_slice(
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );

    // Act
    stream.write_all(&requests).await.unwrap();
    let mut answers = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answers))
        .await
        .expect("all answers within 20 s")
        .unwrap();

    // Assert
    let answers = String::from_utf8_lossy(&answers);
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 50, "{answers}");
}

/// 100 connections each send `first`, then 1,000 requests for a 30 KB document, and read
/// nothing; the peak resident growth of the server, and whether `/readyz` stayed quick.
async fn unread_flood(app: &TestProcess, first: &str) -> (f64, Duration) {
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let before = app.rss_mb();
    let mut flood = first.as_bytes().to_vec();
    flood.extend(pipelined("/api/openapi.json", 1_000));
    let mut senders = Vec::new();
    for _ in 0..100 {
        let flood = flood.clone();
        senders.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            // The send may block once the server stops reading: that is the point.
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(&flood)).await;
            Some(stream)
        }));
    }
    let mut peak = 0.0f64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        peak = peak.max(app.rss_mb());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = Instant::now();
    let status = reqwest::get(format!("{}/readyz", app.address))
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);
    let ready_in = ready.elapsed();
    for sender in senders {
        drop(sender.await.unwrap());
    }
    (peak - before, ready_in)
}

#[tokio::test]
async fn pipelined_requests_that_are_never_read_do_not_take_the_memory() {
    // Arrange
    let app = TestProcess::start(&[]);

    // Act
    let (growth, ready_in) = unread_flood(&app, "").await;

    // Assert
    // A debug build, sharing the machine with the rest of the suite: seconds, not the tens of
    // seconds (and a gigabyte) of a queue that grows without bound.
    assert!(
        ready_in < Duration::from_secs(3),
        "/readyz took {ready_in:?}"
    );
    assert!(growth < 64.0, "resident memory grew by {growth:.0} MB");
}

#[tokio::test]
async fn a_chunked_request_with_long_chunk_lines_does_not_open_the_gate() {
    // Arrange: chunk extensions and trailers of any length, as actix accepts them
    let app = TestProcess::start(&[]);
    let first = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
         1;{}\r\nx\r\n0\r\nTrailer: {}\r\n\r\n",
        "a".repeat(5_000),
        "b".repeat(5_000)
    );

    // Act
    let (growth, _) = unread_flood(&app, &first).await;

    // Assert
    assert!(growth < 64.0, "resident memory grew by {growth:.0} MB");
}
