//! Error mails to the admins that never slow, block or flood anything, and the count behind
//! the error inbox.
//!
//! A request that fails calls [`ErrorReporter::report`], which only adds one to a count in
//! memory (and hands the report to Sentry's sending thread, when SENTRY_DSN is set). The
//! background task (`sender.rs`) then, off every request's path:
//! - adds the counts to their groups in the database (`tracking/counting.rs`), shared by every
//!   instance: the error inbox reads them, and the mails are counted from them;
//! - mails about a group when it is new or a regression, at once, and about its repeats only
//!   when no mail about it went out within ERROR_MAIL_INTERVAL, from any instance; that mail
//!   says how many occurrences it counts. A muted group is counted, never mailed;
//! - sends at most ERROR_MAILS_PER_MINUTE mails per minute from this instance; errors over the
//!   cap stay counted in the database and are mailed later;
//! - sends each mail with a bounded SMTP exchange. A send that fails is logged, once per run of
//!   failures, and never causes another mail.
//!
//! A database outage cannot be counted in the database: its one mail ([`ErrorReporter::
//! report_outage`]) goes straight to the queue.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{mpsc, Notify};

mod flood_control;
mod sender;

use super::Mailer;
use chrono::TimeDelta;

use crate::config::Settings;
use crate::db::DbPool;
use crate::errors::report::ErrorReport;
use crate::metrics::Metrics;
use crate::templates::Templates;
use crate::tracking::counting::Held;
use crate::tracking::sentry::Sentry;

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
    /// The group in the error inbox (empty for an outage, which is not counted there).
    group_url: String,
    /// Whether the group had been resolved and fails again.
    regression: bool,
}

/// At most ERROR_MAILS_PER_MINUTE mails: governor's GCRA, a burst of that many, then one every
/// 60/N seconds.
type PerMinuteCap = DefaultDirectRateLimiter;

/// Reports unhandled errors to the admins. Cheap to call from a request.
pub struct ErrorReporter {
    /// The mail queue, when errors are mailed (DEBUG=0 and ADMINS set).
    queue: Option<mpsc::Sender<ErrorMail>>,
    server_url: String,
    retention: TimeDelta,
    sentry: Option<Sentry>,
    pub(super) metrics: Arc<Metrics>,
    /// Unresolved groups when last counted (-1 before the first count), for the navigation.
    unresolved: AtomicI64,
    /// Moves on each admin's change, so a count read before it is not stored after it.
    changes: AtomicU64,
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
    /// A reporter that counts in `pool`'s database and mails ADMINS through `mailer`, and its
    /// background task. With DEBUG=1 or no ADMINS errors are counted but not mailed.
    pub fn start(
        mailer: Arc<Mailer>,
        templates: Arc<Templates>,
        settings: &Settings,
        pool: DbPool,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let per_minute = settings.mail.error_mails_per_minute;
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let mails = !settings.debug && !settings.admins.is_empty();
        let reporter = Arc::new(ErrorReporter {
            queue: mails.then_some(sender),
            server_url: settings.server_url.clone(),
            retention: TimeDelta::days(i64::from(settings.error_retention_days)),
            sentry: settings
                .sentry
                .as_ref()
                .map(|sentry| Sentry::start(sentry, &settings.server_url)),
            metrics,
            unresolved: AtomicI64::new(-1),
            changes: AtomicU64::new(0),
            interval: Duration::from_secs(settings.mail.error_interval_seconds),
            per_minute,
            cap: RateLimiter::direct(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            held: Mutex::new(HashMap::new()),
            reported: Notify::new(),
            dropped: AtomicU64::new(0),
            sending: Arc::new(AtomicUsize::new(0)),
        });
        tokio::spawn(sender::send_mails(
            sender::Outbox {
                mails,
                sending: reporter.sending.clone(),
                mailer,
                templates,
                admins: settings.admins.clone(),
                pool,
                metrics: reporter.metrics.clone(),
            },
            receiver,
            Arc::downgrade(&reporter),
        ));
        reporter
    }

    fn send_to_sentry(&self, report: &ErrorReport) {
        if let Some(sentry) = &self.sentry {
            let outcome = if sentry.capture(report) {
                "queued"
            } else {
                "throttled"
            };
            self.metrics.sentry_event(outcome);
        }
    }

    /// Error mails waiting to be sent (for the metrics).
    pub fn mails_queued(&self) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |queue| queue.max_capacity() - queue.capacity())
    }

    /// Unresolved error groups, as last counted (`None` before the first count).
    pub fn unresolved(&self) -> Option<i64> {
        let count = self.unresolved.load(Ordering::Relaxed);
        (count >= 0).then_some(count)
    }

    /// Sets the unresolved count after an admin changed a group.
    pub fn set_unresolved(&self, count: i64) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.unresolved.store(count, Ordering::SeqCst);
    }

    /// Waits (at most `limit`) until every held occurrence has been counted and every queued
    /// mail sent or given up, for a clean shutdown.
    pub async fn flush(&self, limit: Duration) {
        let start = Instant::now();
        let pending = || {
            self.queue
                .as_ref()
                .is_some_and(|queue| queue.capacity() < queue.max_capacity())
                || self.sending.load(Ordering::SeqCst) > 0
                || !self.lock_held().is_empty()
        };
        self.reported.notify_one();
        if let Some(sentry) = &self.sentry {
            // As long as Sentry's own SDKs give it by default.
            sentry.flush(limit.min(Duration::from_secs(2))).await;
        }
        while pending() && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Counts an occurrence of `report`'s error in its group; the sender task decides whether
    /// it is mailed.
    pub fn report(&self, report: ErrorReport) {
        // "panic at …", or a task's "background task NAME: panic at …".
        if report.place.contains("panic at ") {
            self.metrics.panics.inc();
        }
        self.send_to_sentry(&report);
        let mut held = self.lock_held();
        let places = held.len();
        match held.get_mut(&report.place) {
            Some(known) => known.add(report),
            None if places < HELD_PLACES => {
                held.insert(report.place.clone(), Held::new(report));
            }
            None => {
                self.drop_reports(1);
            }
        }
        drop(held);
        self.reported.notify_one();
    }

    /// Mails the first failure of a database outage at once: the database that counts the
    /// other errors is the thing that is down. `db::run` lets one request per outage call this.
    pub fn report_outage(&self, report: ErrorReport) {
        self.send_to_sentry(&report);
        let Some(queue) = &self.queue else { return };
        if self.cap.check().is_err() {
            self.drop_reports(1);
            return;
        }
        let mail = self.mail(report, 1, Vec::new(), false);
        if queue.try_send(mail).is_err() {
            self.drop_reports(1);
        }
    }

    /// What has been reported since the last call, to count in the database.
    pub(super) fn take_held(&self) -> HashMap<String, Held> {
        std::mem::take(&mut *self.lock_held())
    }

    /// Puts back occurrences that could not be counted (the database did not answer).
    pub(super) fn hold_again(&self, batch: HashMap<String, Held>) {
        let mut held = self.lock_held();
        for (place, again) in batch {
            let places = held.len();
            match held.get_mut(&place) {
                Some(newer) => newer.put_back(again),
                None if places < HELD_PLACES => {
                    held.insert(place, again);
                }
                None => {
                    self.drop_reports(again.count);
                }
            }
        }
    }

    /// Reports dropped (queue or memory full): counted for the next mail and the metrics.
    fn drop_reports(&self, count: u64) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
        self.metrics.error_mail("dropped", count);
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn mail(
        &self,
        report: ErrorReport,
        occurrences: u64,
        mut counted_ids: Vec<String>,
        summary: bool,
    ) -> ErrorMail {
        counted_ids.truncate(COUNTED_IDS);
        ErrorMail {
            report,
            occurrences,
            summary,
            counted_ids,
            capped: 0,
            group_url: String::new(),
            regression: false,
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            per_minute: self.per_minute,
        }
    }
}
