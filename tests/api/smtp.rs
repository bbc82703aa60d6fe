//! A real SMTP server inside the test process (mailin's protocol state machine on a plain TCP
//! listener), and one that accepts connections and never answers, to show that a hanging mail
//! server changes nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin::{response, Action, Handler, Response, SessionBuilder};

/// Keeps every message it receives.
#[derive(Clone)]
struct Collector {
    current: Vec<u8>,
    inbox: Arc<Mutex<Vec<String>>>,
}

impl Handler for Collector {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.current).into_owned();
        self.inbox.lock().unwrap().push(message);
        response::OK
    }
}

/// An SMTP server on a random port.
pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let collector = Collector {
            current: Vec::new(),
            inbox: inbox.clone(),
        };
        // mailin speaks the protocol; this loop only carries its lines. (mailin-embedded would
        // do the same, but its TLS support compiles a second rustls, on aws-lc, for the tests.)
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let collector = collector.clone();
                std::thread::spawn(move || {
                    let _ = converse(stream, collector);
                });
            }
        });
        SmtpServer { port, inbox }
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages arrived (or the timeout passed) and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        while self.messages().len() < count && start.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.messages()
    }
}

/// One SMTP conversation: the greeting, then a reply to each line until the client quits.
fn converse(stream: TcpStream, collector: Collector) -> std::io::Result<()> {
    let remote = stream.peer_addr()?.ip();
    let mut session = SessionBuilder::new("test.smtp").build(remote, collector);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let reply = session.process(&line);
        match reply.action {
            Action::NoReply => continue,
            Action::Reply => reply.write_to(&mut writer)?,
            Action::Close | Action::UpgradeTls => {
                reply.write_to(&mut writer)?;
                return writer.flush();
            }
        }
    }
}

/// A "mail server" that accepts connections and never says a word.
pub fn start_hanging_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// The decoded body of a mail (the mailer writes quoted-printable).
pub fn body_of(message: &str) -> String {
    let body = message
        .split("\r\n\r\n")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\r\n\r\n");
    let decoded = quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
        .expect("a quoted-printable body");
    String::from_utf8_lossy(&decoded).replace("\r\n", "\n")
}

/// The path of the reset link in a mail's body (`/auth/reset_password/…`).
pub fn reset_link_path(body: &str) -> String {
    let start = body.find("/auth/reset_password/").expect("a reset link");
    body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// The Subject header of a mail.
pub fn subject_of(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}

/// A mail server that hangs (accepts and never answers) until told to recover, and then passes
/// each new connection to a real one. It counts the connections it was offered.
pub struct FlakySmtp {
    pub port: u16,
    hanging: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl FlakySmtp {
    /// Hanging, in front of `real`.
    pub fn start(real: &SmtpServer) -> Self {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hanging = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(AtomicUsize::new(0));
        let (real_port, flag, count) = (real.port, hanging.clone(), connections.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                if flag.load(Ordering::SeqCst) {
                    held.push(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", real_port)) else {
                    continue;
                };
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        FlakySmtp {
            port,
            hanging,
            connections,
        }
    }

    /// From now on, new connections reach the real server.
    pub fn recover(&self) {
        self.hanging
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Connections offered so far.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}
