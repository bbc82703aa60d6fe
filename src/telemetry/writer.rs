//! The one thread that writes log lines: to the console, to `microblog.log` and, for errors, to
//! `errors.log`. Requests only hand a formatted line to a bounded channel.
//!
//! Nothing is dropped from the files: when the channel is full (the disk cannot keep up), the
//! request that logs waits for room. That back-pressure slows a flood of logging instead of losing
//! lines silently. The console is best effort, on a thread of its own: if nobody reads it (a full
//! pipe), its lines are dropped and counted, and the site goes on.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::rotating_file::RotatingFile;
use crate::config::LogSettings;

/// Lines waiting to be written before loggers have to wait.
const QUEUE_LENGTH: usize = 16 * 1024;
/// Lines waiting for the console before they are dropped.
const CONSOLE_QUEUE_LENGTH: usize = 4 * 1024;

/// What the writer thread is asked to do.
pub enum Message {
    Line {
        console: String,
        file: String,
        is_error: bool,
    },
    Stop,
}

/// The handle of the writer thread.
pub struct LogWriter {
    sender: SyncSender<Message>,
    thread: Option<JoinHandle<()>>,
}

/// The two log files, when they could be opened.
struct Files {
    all: RotatingFile,
    errors: RotatingFile,
}

impl LogWriter {
    /// Starts the writer. If LOG_DIR cannot be used, logs go to the console only and the reason
    /// is returned so that it can be said once.
    pub fn start(log: &LogSettings) -> (Self, Option<String>) {
        let (files, problem) = match open_files(log) {
            Ok(files) => (Some(files), None),
            Err(e) => (
                None,
                Some(format!(
                    "LOG_DIR={:?} cannot be used ({e})",
                    log.dir.display().to_string()
                )),
            ),
        };
        let (sender, receiver) = sync_channel(QUEUE_LENGTH);
        let thread = std::thread::Builder::new()
            .name("log-writer".to_string())
            .spawn(move || write_lines(receiver, files))
            .ok();
        (LogWriter { sender, thread }, problem)
    }

    /// A sender for the logging layer.
    pub fn sender(&self) -> SyncSender<Message> {
        self.sender.clone()
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.sender.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn open_files(log: &LogSettings) -> std::io::Result<Files> {
    std::fs::create_dir_all(&log.dir)?;
    let open = |name: &str| {
        RotatingFile::open(
            &log.dir.join(Path::new(name)),
            log.max_bytes,
            log.backup_count,
        )
    };
    Ok(Files {
        all: open("microblog.log")?,
        errors: open("errors.log")?,
    })
}

/// The console's own thread: a stdout nobody reads must not stop the log files.
fn start_console() -> SyncSender<String> {
    let (sender, receiver) = sync_channel::<String>(CONSOLE_QUEUE_LENGTH);
    let _ = std::thread::Builder::new()
        .name("log-console".to_string())
        .spawn(move || {
            let stdout = std::io::stdout();
            while let Ok(line) = receiver.recv() {
                let _ = stdout.lock().write_all(line.as_bytes());
            }
        });
    sender
}

fn write_lines(receiver: Receiver<Message>, mut files: Option<Files>) {
    let console = start_console();
    let mut console_dropped: u64 = 0;
    let mut failed = false;
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Line {
                console: line,
                file,
                is_error,
            } => {
                if console_dropped > 0 {
                    let note = format!("microblog: {console_dropped} log lines were not shown on the console (nobody read it); the log files have them\n");
                    if console.try_send(note).is_ok() {
                        console_dropped = 0;
                    }
                }
                if console.try_send(line).is_err() {
                    console_dropped += 1;
                }
                if let Some(files) = files.as_mut() {
                    let mut result = files.all.write_line(&file);
                    if is_error {
                        result = result.and(files.errors.write_line(&file));
                    }
                    // Said once per run of failures, on the console, which cannot fail the same way.
                    match result {
                        Err(e) if !failed => {
                            failed = true;
                            let _ = console.try_send(format!("microblog: writing the log files failed ({e}); lines go to the console only until it works again\n"));
                        }
                        Ok(()) => failed = false,
                        Err(_) => {}
                    }
                }
            }
            Message::Stop => break,
        }
    }
}
