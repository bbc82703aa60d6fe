//! The real binary in its own process, for tests of what it writes to its log folder: the
//! tracing subscriber is global to a process, so each logging test needs a process of its own.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::database::TestDatabase;
use crate::helpers::Browser;

/// A running `microblog` process with its own database and log folder.
pub struct TestProcess {
    pub address: String,
    pub log_dir: PathBuf,
    child: Child,
    console: Arc<Mutex<Vec<String>>>,
    overrides: Vec<(String, String)>,
    _database: TestDatabase,
    _dir: TempDir,
}

impl TestProcess {
    /// Starts the binary with the test settings plus `overrides`, and waits until it serves.
    pub fn start(overrides: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join("logs");
        let database = TestDatabase::create(dir.path());
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let (child, console, address) = launch(&database.url, &log_dir, &overrides);
        TestProcess {
            address,
            log_dir,
            child,
            console,
            overrides,
            _database: database,
            _dir: dir,
        }
    }

    /// Kills the process at once (SIGKILL: nothing of it runs to the end), then starts it again
    /// on the same database and log folder.
    pub fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, console, address) = launch(&self._database.url, &self.log_dir, &self.overrides);
        self.child = child;
        self.console = console;
        self.address = address;
    }

    /// `host:port` of `GET /metrics`, as the startup line names it (start with
    /// `METRICS_ADDR=127.0.0.1:0`).
    pub fn metrics_address(&self) -> String {
        self.console()
            .iter()
            .find_map(|line| {
                let rest = line.split_once("metrics=http://")?.1;
                rest.split('/').next().map(str::to_string)
            })
            .expect("the startup line names the metrics address")
    }

    /// The process's resident memory, in MB.
    pub fn rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// What the process printed on its console so far.
    pub fn console(&self) -> Vec<String> {
        self.console.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `check` holds for the console's lines, returning them.
    pub async fn wait_for_console(&self, check: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let lines = self.console();
            if check(&lines) || start.elapsed() > Duration::from_secs(10) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A file of the log folder, read now (empty if it does not exist).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_dir.join(name)).unwrap_or_default()
    }

    /// Waits until `check` holds for the file's content, returning it.
    pub async fn wait_for(&self, name: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(name, check, Duration::from_secs(10))
            .await
    }

    /// [`TestProcess::wait_for`], for at most `limit`.
    pub async fn wait_for_within(
        &self,
        name: &str,
        check: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> String {
        let start = Instant::now();
        loop {
            let text = self.read(name);
            if check(&text) || start.elapsed() > limit {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends SIGTERM, as a service manager does, without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }

    /// Waits (up to 30 s) for the process to exit, and returns how it did.
    pub fn wait_for_exit(&mut self) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the process the way a service manager does (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
    }
}

/// Runs the binary and waits for its startup line: the child, its console, its address.
fn launch(
    database_url: &str,
    log_dir: &Path,
    overrides: &[(String, String)],
) -> (Child, Arc<Mutex<Vec<String>>>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_microblog"));
    command
        .env_clear()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PORT", "0")
        .env("METRICS_ADDR", "off")
        .env("DATABASE_URL", database_url)
        .env("LOG_DIR", log_dir)
        .env(
            "SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in overrides {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let console = Arc::new(Mutex::new(Vec::new()));
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let lines = console.clone();
    // Drain the console for the whole run: a full pipe would stall the log writer.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Kept before the address is announced: whoever waits for the address may read
            // the startup line at once (`metrics_address`).
            lines.lock().unwrap().push(line.clone());
            if line.contains("Microblog startup") {
                // Text (`address=http://…`) or JSON (`"address":"http://…"`).
                let address = line
                    .split_once("address=")
                    .map(|(_, rest)| rest.split(' ').next().unwrap_or(""))
                    .or_else(|| {
                        line.split_once("\"address\":\"")
                            .map(|(_, rest)| rest.split('"').next().unwrap_or(""))
                    });
                if let Some(address) = address {
                    let _ = address_tx.send(address.to_string());
                }
            }
        }
    });
    let address = address_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the startup line with the address");
    (child, console, address)
}

impl Drop for TestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, with its content (for searching everything the app wrote).
pub fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(all_files(&path));
            } else {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
                files.push((path, text));
            }
        }
    }
    files
}

/// Waits (up to 10 s) until the outbox in `log_dir` holds a mail that is completely written
/// (unchanged between two looks), and returns its files.
pub async fn wait_for_outbox(log_dir: &Path) -> Vec<(PathBuf, String)> {
    let outbox = log_dir.join("mail");
    let start = Instant::now();
    let mut previous = Vec::new();
    loop {
        let files = all_files(&outbox);
        let settled = !files.is_empty() && files == previous;
        if settled || start.elapsed() > Duration::from_secs(10) {
            return files;
        }
        previous = files;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
