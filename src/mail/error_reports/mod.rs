//! Error mails to the admins that never slow, block or flood anything.
//!
//! A request that fails calls [`ErrorReporter::report`], which only adds one to a count in
//! memory. The background task (`sender.rs`) then, off every request's path:
//! - adds the counts to the database (`flood_control.rs`), shared by every instance, and mails
//!   about an error only when no mail about it went out within ERROR_MAIL_INTERVAL, from any
//!   instance; that mail says how many occurrences it counts, and the counts of all the mails
//!   add up to the number of failures;
//! - sends at most ERROR_MAILS_PER_MINUTE mails per minute from this instance; errors over the
//!   cap stay counted in the database and are mailed later;
//! - sends each mail with a bounded SMTP exchange. A send that fails is logged, once per run of
//!   failures, and never causes another mail.
//!
//! A database outage cannot be counted in the database: its one mail ([`ErrorReporter::
//! report_outage`]) goes straight to the queue.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{mpsc, Notify};

mod flood_control;
mod sender;

use super::Mailer;
use chrono::TimeDelta;

use crate::db::{self, write_transaction, DbPool};
use crate::errors::report::ErrorReport;
use crate::errors::AppError;
use crate::templates::Templates;
use flood_control::Held;

/// How many held-back request ids one mail lists.
const COUNTED_IDS: usize = 100;

/// Mails waiting to be sent before new ones are dropped (and counted).
const QUEUE_LENGTH: usize = 32;

/// Distinct errors held in memory between two counts in the database; past it, occurrences of
/// new errors are dropped (and counted as such), so memory stays bounded while the database is
/// away.
const HELD_PLACES: usize = 256;

/// One mail for the sender task, which renders it (`templates/mail/error_report.txt`) off the
/// request path.
#[derive(Serialize)]
pub(super) struct ErrorMail {
    pub(super) report: ErrorReport,
    /// Occurrences this mail counts (1, or more for repeats that were held back).
    occurrences: u64,
    /// Whether this is a summary of held-back repeats rather than the mail of a new occurrence.
    summary: bool,
    /// The request ids of the held-back occurrences it counts.
    counted_ids: Vec<String>,
    /// Other errors held back by the per-minute cap.
    capped: u64,
    /// Reports dropped because the queue (or the memory for held errors) was full.
    dropped: u64,
    per_minute: u32,
}

/// At most ERROR_MAILS_PER_MINUTE mails: governor's GCRA, a burst of that many, then one every
/// 60/N seconds.
type PerMinuteCap = DefaultDirectRateLimiter;

/// Reports unhandled errors to the admins. Cheap to call from a request.
pub struct ErrorReporter {
    queue: Option<mpsc::Sender<ErrorMail>>,
    interval: Duration,
    per_minute: u32,
    cap: PerMinuteCap,
    /// Occurrences not yet counted in the database, by place.
    held: Mutex<HashMap<String, Held>>,
    /// Wakes the sender task when something was reported.
    reported: Notify,
    dropped: AtomicU64,
    /// Mails the sender task has taken and not finished sending (for a clean shutdown).
    sending: Arc<AtomicUsize>,
}

impl ErrorReporter {
    /// A reporter that mails `admins` through `mailer`, counting in `pool`'s database, and its
    /// background sender task. With `enabled` false (DEBUG=1 or no ADMINS) reports are ignored.
    pub fn start(
        mailer: Arc<Mailer>,
        templates: Arc<Templates>,
        admins: Vec<String>,
        limits: (Duration, u32),
        enabled: bool,
        pool: DbPool,
    ) -> Arc<Self> {
        let (interval, per_minute) = limits;
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let reporter = Arc::new(ErrorReporter {
            queue: (enabled && !admins.is_empty()).then_some(sender),
            interval,
            per_minute,
            cap: RateLimiter::direct(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            held: Mutex::new(HashMap::new()),
            reported: Notify::new(),
            dropped: AtomicU64::new(0),
            sending: Arc::new(AtomicUsize::new(0)),
        });
        if reporter.queue.is_some() {
            tokio::spawn(sender::send_mails(
                sender::Outbox {
                    sending: reporter.sending.clone(),
                    mailer,
                    templates,
                    admins,
                    pool,
                },
                receiver,
                Arc::downgrade(&reporter),
            ));
        }
        reporter
    }

    /// Waits (at most `limit`) until every held occurrence has been counted and every queued
    /// mail sent or given up, for a clean shutdown.
    pub async fn flush(&self, limit: Duration) {
        let Some(queue) = &self.queue else { return };
        let start = Instant::now();
        let pending = || {
            queue.capacity() < queue.max_capacity()
                || self.sending.load(Ordering::SeqCst) > 0
                || !self.lock_held().is_empty()
        };
        self.reported.notify_one();
        while pending() && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Counts an occurrence of `report`'s error; the sender task decides whether it is mailed.
    pub fn report(&self, report: ErrorReport) {
        if self.queue.is_none() {
            return;
        }
        let mut held = self.lock_held();
        let places = held.len();
        match held.get_mut(&report.place) {
            Some(known) => {
                known.count += 1;
                if known.ids.len() < COUNTED_IDS && !report.id.is_empty() {
                    known.ids.push(report.id.clone());
                }
                known.latest = report;
            }
            None if places < HELD_PLACES => {
                let ids = (!report.id.is_empty()).then(|| report.id.clone());
                held.insert(
                    report.place.clone(),
                    Held {
                        count: 1,
                        ids: ids.into_iter().collect(),
                        latest: report,
                    },
                );
            }
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(held);
        self.reported.notify_one();
    }

    /// Mails the first failure of a database outage at once: the database that counts the
    /// other errors is the thing that is down. `db::run` lets one request per outage call this.
    pub fn report_outage(&self, report: ErrorReport) {
        let Some(queue) = &self.queue else { return };
        if self.cap.check().is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mail = self.mail(report, 1, 0, Vec::new(), false);
        if queue.try_send(mail).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts what was reported since the last call in the database, then claims the errors
    /// whose mail is due (within the per-minute cap) and returns their mails.
    pub(super) async fn count_and_claim(
        self: Arc<Self>,
        pool: &DbPool,
    ) -> Result<Vec<ErrorMail>, AppError> {
        let interval = TimeDelta::from_std(self.interval).unwrap_or(TimeDelta::MAX);
        let reporter = self.clone();
        db::run_unobserved(pool, move |conn| {
            // Taken only once a connection is there: if none comes, nothing is lost.
            let batch = reporter.take_held();
            // No write (and on SQLite no write lock) on the ticks with nothing to count.
            let counted = if batch.is_empty() {
                Ok(())
            } else {
                write_transaction(conn, |conn| {
                    batch
                        .iter()
                        .try_for_each(|(place, held)| flood_control::count(conn, place, held))
                })
            };
            if let Err(error) = counted {
                reporter.hold_again(batch);
                return Err(error);
            }
            let due = flood_control::due(conn, interval, i64::from(reporter.per_minute))?;
            let mut mails: Vec<ErrorMail> = Vec::new();
            for (index, place) in due.iter().enumerate() {
                if reporter.cap.check().is_err() {
                    let capped = (due.len() - index) as u64;
                    if let Some(last) = mails.last_mut() {
                        last.capped = capped;
                    }
                    break;
                }
                if let Some(claimed) = flood_control::claim(conn, place, interval)? {
                    mails.push(reporter.mail(
                        claimed.report,
                        claimed.occurrences,
                        0,
                        claimed.ids,
                        claimed.repeats,
                    ));
                }
            }
            Ok(mails)
        })
        .await
    }

    /// What has been reported since the last call, to count in the database.
    fn take_held(&self) -> HashMap<String, Held> {
        std::mem::take(&mut *self.lock_held())
    }

    /// Puts back occurrences that could not be counted (the database did not answer).
    fn hold_again(&self, batch: HashMap<String, Held>) {
        let mut held = self.lock_held();
        for (place, mut again) in batch {
            let places = held.len();
            match held.get_mut(&place) {
                Some(newer) => {
                    newer.count += again.count;
                    again
                        .ids
                        .truncate(COUNTED_IDS.saturating_sub(newer.ids.len()));
                    newer.ids.append(&mut again.ids);
                }
                None if places < HELD_PLACES => {
                    held.insert(place, again);
                }
                None => {
                    self.dropped.fetch_add(again.count, Ordering::Relaxed);
                }
            }
        }
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mail(
        &self,
        report: ErrorReport,
        occurrences: u64,
        capped: u64,
        mut counted_ids: Vec<String>,
        summary: bool,
    ) -> ErrorMail {
        counted_ids.truncate(COUNTED_IDS);
        ErrorMail {
            report,
            occurrences,
            summary,
            counted_ids,
            capped,
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            per_minute: self.per_minute,
        }
    }
}
