//! A Sentry-protocol receiver on loopback, inside the test, as the mail tests run a real SMTP
//! server: it takes the HTTP requests the SDK sends to `/api/<project>/envelope/` and decodes
//! their envelopes (a header line, then items, each a header line with its `length` and a
//! payload).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One envelope as it arrived.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub path: String,
    /// The `X-Sentry-Auth` header.
    pub auth: String,
    /// The whole body, to search for anything that must never be sent.
    pub raw: String,
    /// The payloads of the `event` items.
    pub events: Vec<Value>,
}

/// A receiver on a random port; its DSN points the SDK at it.
pub struct SentryReceiver {
    pub port: u16,
    received: Arc<Mutex<Vec<Envelope>>>,
}

impl SentryReceiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        SentryReceiver { port, received }
    }

    /// The DSN of project 42 with key `public-key` on this receiver.
    pub fn dsn(&self) -> String {
        format!("http://public-key@127.0.0.1:{}/42", self.port)
    }

    /// Waits until `count` events arrived (or 10 seconds passed) and returns every envelope.
    pub async fn wait_for_events(&self, count: usize) -> Vec<Envelope> {
        let start = Instant::now();
        loop {
            let envelopes = self.received.lock().unwrap().clone();
            let events: usize = envelopes.iter().map(|e| e.events.len()).sum();
            if events >= count || start.elapsed() > Duration::from_secs(10) {
                return envelopes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Answers each HTTP/1.1 request on the connection with 200 and the event's id.
fn serve(stream: std::net::TcpStream, store: &Mutex<Vec<Envelope>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
        let (mut length, mut chunked, mut auth) = (0usize, false, String::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                "x-sentry-auth" => auth = value.trim().to_string(),
                _ => {}
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            body
        };
        let envelope = decode(path, auth, &body);
        store.lock().unwrap().push(envelope);
        let answer = "{}";
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// The envelope format: `{header}\n` then, per item, `{"type":…,"length":N}\n` and N bytes
/// (or, without a length, up to the next newline).
fn decode(path: String, auth: String, body: &[u8]) -> Envelope {
    let raw = String::from_utf8_lossy(body).into_owned();
    let mut rest = body;
    let next_line = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let line = rest[..end].to_vec();
        *rest = &rest[(end + 1).min(rest.len())..];
        Some(line)
    };
    let _header: Value = serde_json::from_slice(&next_line(&mut rest).unwrap()).unwrap();
    let mut events = Vec::new();
    while let Some(item_header) = next_line(&mut rest) {
        if item_header.is_empty() {
            continue;
        }
        let item: Value = serde_json::from_slice(&item_header).unwrap();
        let payload = match item["length"].as_u64() {
            Some(length) => {
                let length = length as usize;
                let payload = rest[..length].to_vec();
                rest = &rest[length..];
                if rest.first() == Some(&b'\n') {
                    rest = &rest[1..];
                }
                payload
            }
            None => next_line(&mut rest).unwrap_or_default(),
        };
        if item["type"] == "event" {
            events.push(serde_json::from_slice(&payload).unwrap());
        }
    }
    Envelope {
        path,
        auth,
        raw,
        events,
    }
}
