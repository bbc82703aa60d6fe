//! The sender task of the error mails: one mail at a time, off every request's path, each
//! exchange bounded by MAIL_TIMEOUT, and the summaries of held-back repeats when they fall due.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ErrorMail, ErrorReporter};
use crate::errors::{AppError, Chain};
use crate::mail::Mailer;
use crate::templates::Templates;

/// "Microblog Failure: " and the error's first line, without CR/LF, cut at about 120 characters.
pub fn subject(headline: &str) -> String {
    let line: String = headline
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let short: String = line.chars().take(120).collect();
    let ellipsis = if line.chars().count() > 120 {
        "…"
    } else {
        ""
    };
    format!("Microblog Failure: {short}{ellipsis}")
}

/// The background sender: one mail at a time, and the summaries when they fall due.
pub(super) async fn send_mails(
    sending: Arc<AtomicUsize>,
    mailer: Arc<Mailer>,
    templates: Arc<Templates>,
    admins: Vec<String>,
    mut queue: mpsc::Receiver<ErrorMail>,
    reporter: std::sync::Weak<ErrorReporter>,
) {
    let mut failing = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let mails = tokio::select! {
            mail = queue.recv() => match mail {
                Some(mail) => vec![mail],
                None => return,
            },
            _ = tick.tick() => match reporter.upgrade() {
                Some(reporter) => reporter.due_summaries(),
                None => return,
            },
        };
        sending.fetch_add(mails.len(), Ordering::SeqCst);
        for mail in mails {
            let _done = Finished(&sending);
            let subject = subject(mail.report.headline());
            let body = match tera::Context::from_serialize(&mail)
                .map_err(AppError::unexpected)
                .and_then(|context| templates.render("mail/error_report.txt", &context))
            {
                Ok(body) => body,
                Err(error) => {
                    tracing::error!(error.chain = ?error, "An error mail could not be written");
                    continue;
                }
            };
            match mailer.send(&admins, &subject, body).await {
                Ok(()) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::error!(
                        error.chain = %Chain(&error),
                        "An error mail could not be sent; further failures are not logged until one succeeds"
                    );
                }
                Err(_) => {}
            }
        }
    }
}

/// Counts one mail as sent (or given up) when dropped, whichever way the loop body ends.
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::subject;

    #[test]
    fn the_subject_is_one_short_line() {
        let long = format!("first line\r\nsecond {}", "x".repeat(300));
        assert_eq!(subject(&long), "Microblog Failure: first line");
        let subject = subject(&"y".repeat(300));
        assert_eq!(subject.chars().count(), "Microblog Failure: ".len() + 121);
    }
}
