//! The sender task of the error mails: one mail at a time, off every request's path, each
//! exchange bounded by MAIL_TIMEOUT, and the summaries of held-back repeats when they fall due.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use chrono::TimeDelta;

use super::{flood_control, ErrorMail, ErrorReporter};
use crate::db::{self, write_transaction, DbPool};
use crate::errors::{AppError, Chain};
use crate::mail::Mailer;
use crate::templates::Templates;
use crate::tracking::{counting, inbox};

/// "Microblog Failure: " (or "Microblog Regression: " for a resolved error that came back) and
/// the error's first line, without CR/LF, cut at about 120 characters.
pub fn subject(headline: &str, regression: bool) -> String {
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
    let kind = if regression { "Regression" } else { "Failure" };
    format!("Microblog {kind}: {short}{ellipsis}")
}

/// What the sender task sends with, and where it counts.
pub(super) struct Outbox {
    /// Whether errors are mailed (otherwise the task only counts them).
    pub(super) mails: bool,
    pub(super) sending: Arc<AtomicUsize>,
    pub(super) mailer: Arc<Mailer>,
    pub(super) templates: Arc<Templates>,
    pub(super) admins: Vec<String>,
    pub(super) pool: DbPool,
    pub(super) metrics: Arc<crate::metrics::Metrics>,
}

/// The least time between two counts in the database: under a flood of errors, the reports of
/// each such pause are counted in one transaction.
const GATHER: Duration = Duration::from_millis(50);

/// The least time between two writes of a group's latest reports.
const KEEP_REPORTS_EVERY: Duration = Duration::from_secs(1);

/// The time between two retention sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The background sender: counts what was reported, claims the mails that are due (from the
/// database, every second and soon after each report) and sends them one at a time.
pub(super) async fn send_mails(
    outbox: Outbox,
    mut queue: mpsc::Receiver<ErrorMail>,
    reporter: std::sync::Weak<ErrorReporter>,
) {
    let mut sending_failed = false;
    let mut counting_failed = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut schedule = Schedule::default();
    loop {
        let Some(strong) = reporter.upgrade() else {
            return;
        };
        let mails = tokio::select! {
            mail = queue.recv(), if outbox.mails => match mail {
                Some(mail) => vec![mail],
                None => return,
            },
            _ = strong.reported.notified() => Vec::new(),
            _ = tick.tick() => Vec::new(),
        };
        let mails = if mails.is_empty() {
            let counted = strong.count_and_claim(&outbox.pool, schedule.due()).await;
            tokio::time::sleep(GATHER).await;
            match counted {
                Ok(mails) => {
                    counting_failed = false;
                    mails
                }
                Err(error) if !counting_failed => {
                    counting_failed = true;
                    tracing::warn!(
                        error.chain = %Chain(&error),
                        "Errors could not be counted for the error mails; they are held in memory until the database answers"
                    );
                    Vec::new()
                }
                Err(_) => Vec::new(),
            }
        } else {
            mails
        };
        outbox.sending.fetch_add(mails.len(), Ordering::SeqCst);
        for mail in mails {
            let _done = Finished(&outbox.sending);
            send_one(&outbox, mail, &mut sending_failed).await;
        }
    }
}

async fn send_one(outbox: &Outbox, mail: ErrorMail, failing: &mut bool) {
    let subject = subject(mail.report.headline(), mail.regression);
    let body = match tera::Context::from_serialize(&mail)
        .map_err(|error| AppError::unexpected(error))
        .and_then(|context| outbox.templates.render("mail/error_report.txt", &context))
    {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error.chain = ?error, "An error mail could not be written");
            return;
        }
    };
    match outbox.mailer.send(&outbox.admins, &subject, body).await {
        Ok(()) => {
            *failing = false;
            outbox.metrics.error_mail("sent", 1);
        }
        Err(error) if !*failing => {
            outbox.metrics.error_mail("failed", 1);
            *failing = true;
            tracing::error!(
                error.chain = %Chain(&error),
                "An error mail could not be sent; further failures are not logged until one succeeds"
            );
        }
        Err(_) => outbox.metrics.error_mail("failed", 1),
    }
}

impl ErrorReporter {
    /// Counts what was reported since the last call in their groups, then claims the groups
    /// whose mail is due (within the per-minute cap) and returns their mails. `chores` says
    /// which of the slower work is due: keeping the latest reports, deleting what retention
    /// no longer keeps.
    pub(super) async fn count_and_claim(
        self: Arc<Self>,
        pool: &DbPool,
        chores: Chores,
    ) -> Result<Vec<ErrorMail>, AppError> {
        let interval = TimeDelta::from_std(self.interval).unwrap_or(TimeDelta::MAX);
        let reporter = self.clone();
        db::run_unobserved(pool, move |conn| {
            // Taken only once a connection is there: if none comes, nothing is lost.
            let batch = reporter.take_held();
            // One order on every instance, so that two counting at once on PostgreSQL wait
            // for each other's rows instead of deadlocking.
            let mut places: Vec<&String> = batch.keys().collect();
            places.sort();
            // No write (and on SQLite no write lock) on the ticks with nothing to count.
            let counted = if batch.is_empty() {
                Ok(())
            } else {
                write_transaction(conn, |conn| {
                    places.iter().try_for_each(|place| match batch.get(*place) {
                        Some(held) => counting::count(conn, place, held, chores.keep_reports),
                        None => Ok(()),
                    })
                })
            };
            if let Err(error) = counted {
                reporter.hold_again(batch);
                return Err(error);
            }
            if !chores.keep_reports {
                // Counted; their latest reports wait for the next write of reports.
                reporter.hold_again(
                    batch
                        .into_iter()
                        .map(|(place, held)| (place, held.reports_only()))
                        .collect(),
                );
            }
            if chores.sweep {
                inbox::delete_expired(conn, reporter.retention)?;
            }
            let changes = reporter.changes.load(Ordering::SeqCst);
            let unresolved = inbox::unresolved_count(conn)?;
            if reporter.changes.load(Ordering::SeqCst) == changes {
                reporter.unresolved.store(unresolved, Ordering::SeqCst);
            }
            if reporter.queue.is_none() {
                return Ok(Vec::new());
            }
            let due = flood_control::due(conn, interval, i64::from(reporter.per_minute))?;
            let mut mails: Vec<ErrorMail> = Vec::new();
            for (index, place) in due.iter().enumerate() {
                if reporter.cap.check().is_err() {
                    let capped = (due.len() - index) as u64;
                    reporter.metrics.error_mail("held_back", capped);
                    if let Some(last) = mails.last_mut() {
                        last.capped = capped;
                    }
                    break;
                }
                if let Some(claimed) = flood_control::claim(conn, place, interval)? {
                    let mut mail = reporter.mail(
                        claimed.report,
                        claimed.occurrences,
                        claimed.ids,
                        claimed.repeats,
                    );
                    mail.group_url =
                        format!("{}/admin/errors/{}", reporter.server_url, claimed.group);
                    mail.regression = claimed.regression;
                    mails.push(mail);
                }
            }
            Ok(mails)
        })
        .await
    }
}

/// The slower work of a count, and whether it is due.
#[derive(Clone, Copy)]
pub(super) struct Chores {
    /// Store the latest reports as occurrences: at most once a second, so that a flood of
    /// failures is a flood of counts in memory, not of rows written and deleted.
    keep_reports: bool,
    /// Delete the groups past ERROR_RETENTION_DAYS and the hours past a day.
    sweep: bool,
}

/// When the chores were last done.
#[derive(Default)]
struct Schedule {
    reports_kept: Option<Instant>,
    swept: Option<Instant>,
}

impl Schedule {
    fn due(&mut self) -> Chores {
        let now = Instant::now();
        let due = |last: &mut Option<Instant>, every: Duration| {
            let due = last.is_none_or(|last| now.duration_since(last) >= every);
            if due {
                *last = Some(now);
            }
            due
        };
        Chores {
            keep_reports: due(&mut self.reports_kept, KEEP_REPORTS_EVERY),
            sweep: due(&mut self.swept, SWEEP_EVERY),
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
        assert_eq!(subject(&long, false), "Microblog Failure: first line");
        assert_eq!(subject(&long, true), "Microblog Regression: first line");
        let subject = subject(&"y".repeat(300), false);
        assert_eq!(subject.chars().count(), "Microblog Failure: ".len() + 121);
    }
}
