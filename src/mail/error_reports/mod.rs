//! Error mails to the admins that never slow, block or flood anything.
//!
//! A request that fails calls [`ErrorReporter::report`], which only takes a lock for a moment:
//! - repeats of the same error (same place) within ERROR_MAIL_INTERVAL are counted, not sent;
//!   the next mail for that error says how many there were, and a summary mail goes out for
//!   repeats that no new occurrence reports;
//! - at most ERROR_MAILS_PER_MINUTE mails leave per minute; errors over the cap are counted and
//!   the next mail says so;
//! - the mail itself goes into a small bounded queue; when the queue is full the report is
//!   counted as dropped, never waited for.
//!
//! One background task sends the queue with short SMTP timeouts. A send that fails is logged,
//! once per run of failures, and never causes another mail.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::mpsc;

mod sender;

use super::Mailer;
use crate::errors::report::ErrorReport;
use crate::templates::Templates;

/// How many held-back request ids one mail lists.
const COUNTED_IDS: usize = 100;

/// Mails waiting to be sent before new reports are dropped (and counted).
const QUEUE_LENGTH: usize = 32;

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
    /// Reports dropped because the queue was full.
    dropped: u64,
    per_minute: u32,
}

/// What is known about one error (one place in the code).
struct Seen {
    last_sent: Instant,
    /// Occurrences since the last mail that were not mailed.
    suppressed: u64,
    /// The request ids of those occurrences (the first [`COUNTED_IDS`]), so the mail that
    /// counts them names them and the lab's log viewer can find it.
    counted_ids: Vec<String>,
    /// The latest report, for the summary mail.
    latest: ErrorReport,
}

impl Seen {
    /// Counts an occurrence that is not mailed now; the next mail about it will.
    fn hold_back(&mut self, report: ErrorReport) {
        self.suppressed += 1;
        if self.counted_ids.len() < COUNTED_IDS && !report.id.is_empty() {
            self.counted_ids.push(report.id.clone());
        }
        self.latest = report;
    }
}

struct FloodState {
    seen: HashMap<String, Seen>,
    /// Errors not mailed because of the per-minute cap, since the last mail.
    capped: u64,
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
    state: Mutex<FloodState>,
    dropped: AtomicU64,
    /// Mails the sender task has taken and not finished sending (for a clean shutdown).
    sending: Arc<AtomicUsize>,
}

impl ErrorReporter {
    /// A reporter that mails `admins` through `mailer`, and its background sender task.
    /// With `enabled` false (DEBUG=1 or no ADMINS) reports are ignored.
    pub fn start(
        mailer: Arc<Mailer>,
        templates: Arc<Templates>,
        admins: Vec<String>,
        interval: Duration,
        per_minute: u32,
        enabled: bool,
    ) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let reporter = Arc::new(ErrorReporter {
            queue: (enabled && !admins.is_empty()).then_some(sender),
            interval,
            per_minute,
            cap: RateLimiter::direct(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            state: Mutex::new(FloodState {
                seen: HashMap::new(),
                capped: 0,
            }),
            dropped: AtomicU64::new(0),
            sending: Arc::new(AtomicUsize::new(0)),
        });
        if reporter.queue.is_some() {
            tokio::spawn(sender::send_mails(
                reporter.sending.clone(),
                mailer,
                templates,
                admins,
                receiver,
                Arc::downgrade(&reporter),
            ));
        }
        reporter
    }

    /// Waits (at most `limit`) until every queued mail has been sent or given up, for a clean
    /// shutdown.
    pub async fn flush(&self, limit: Duration) {
        let Some(queue) = &self.queue else { return };
        let start = Instant::now();
        let pending =
            || queue.capacity() < queue.max_capacity() || self.sending.load(Ordering::SeqCst) > 0;
        while pending() && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Queues a mail about `report`, unless flood control holds it back (then it is counted).
    pub fn report(&self, report: ErrorReport) {
        let Some(queue) = &self.queue else { return };
        let Some(mail) = self.admit(report) else {
            return;
        };
        if queue.try_send(mail).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Decides whether this occurrence is mailed, and builds the mail with the counts.
    fn admit(&self, report: ErrorReport) -> Option<ErrorMail> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = report.place.clone();
        if let Some(seen) = state.seen.get_mut(&key) {
            if now.duration_since(seen.last_sent) < self.interval {
                seen.hold_back(report);
                return None;
            }
        }
        if self.cap.check().is_err() {
            match state.seen.get_mut(&key) {
                // A known error over the cap is counted with its own repeats, for its summary.
                Some(seen) => seen.hold_back(report),
                None => state.capped += 1,
            }
            return None;
        }
        let (earlier, counted_ids) = state
            .seen
            .insert(
                key,
                Seen {
                    last_sent: now,
                    suppressed: 0,
                    counted_ids: Vec::new(),
                    latest: report.clone(),
                },
            )
            .map(|seen| (seen.suppressed, seen.counted_ids))
            .unwrap_or_default();
        let capped = std::mem::take(&mut state.capped);
        drop(state);
        Some(self.mail(&report, 1 + earlier, capped, counted_ids, false))
    }

    /// Summary mails for errors that repeated after their last mail and have not recurred
    /// since the interval ended. Called by the sender task.
    pub(super) fn due_summaries(&self) -> Vec<ErrorMail> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget errors that have been quiet for long, so the map cannot grow without end.
        let forget_after = self.interval.max(Duration::from_secs(60)) * 10;
        state.seen.retain(|_, seen| {
            seen.suppressed > 0 || now.duration_since(seen.last_sent) < forget_after
        });
        let due: Vec<String> = state
            .seen
            .iter()
            .filter(|(_, seen)| {
                seen.suppressed > 0 && now.duration_since(seen.last_sent) >= self.interval
            })
            .map(|(key, _)| key.clone())
            .collect();
        let mut mails = Vec::new();
        for key in due {
            if self.cap.check().is_err() {
                break;
            }
            let capped = std::mem::take(&mut state.capped);
            if let Some(seen) = state.seen.get_mut(&key) {
                let count = std::mem::take(&mut seen.suppressed);
                let counted_ids = std::mem::take(&mut seen.counted_ids);
                seen.last_sent = now;
                mails.push(self.mail(&seen.latest, count, capped, counted_ids, true));
            }
        }
        mails
    }

    fn mail(
        &self,
        report: &ErrorReport,
        occurrences: u64,
        capped: u64,
        counted_ids: Vec<String>,
        summary: bool,
    ) -> ErrorMail {
        ErrorMail {
            report: report.clone(),
            occurrences,
            summary,
            counted_ids,
            capped,
            dropped: self.dropped.swap(0, Ordering::Relaxed),
            per_minute: self.per_minute,
        }
    }
}
