//! Knowing when the database is down, so that an outage is logged and mailed once, not once per
//! request, and its end is noticed without a restart.
//!
//! Every request that cannot reach the database still gets its 503; only the first one of an
//! outage is told that it starts one ([`Outage::failed`]), and the error boundary logs that one at
//! ERROR and mails it. The first request that gets a connection again ends the outage and logs
//! how long it lasted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The state of the database as the requests have seen it.
#[derive(Debug, Default)]
pub struct Outage {
    /// Fast path for every query: false while the database answers.
    down: AtomicBool,
    since: Mutex<Option<Instant>>,
    refused: AtomicU64,
}

impl Outage {
    /// Records a request the database could not serve; whether it is the first of an outage.
    pub fn failed(&self) -> bool {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        if since.is_some() {
            return false;
        }
        *since = Some(Instant::now());
        self.down.store(true, Ordering::SeqCst);
        true
    }

    /// Whether requests are being answered 503 for an outage.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Records that the database answered; ends the outage if there was one.
    pub fn answered(&self) {
        if !self.down.load(Ordering::Relaxed) {
            return;
        }
        let mut since = self.since.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(start) = since.take() {
            self.down.store(false, Ordering::SeqCst);
            let refused = self.refused.swap(0, Ordering::Relaxed);
            tracing::info!(
                seconds = start.elapsed().as_secs(),
                refused,
                "The database answers again; the outage is over"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outage;

    #[test]
    fn only_the_first_failure_of_an_outage_starts_it() {
        let outage = Outage::default();
        assert!(outage.failed());
        assert!(!outage.failed());
        outage.answered();
        assert!(
            outage.failed(),
            "after an answer, the next failure starts a new outage"
        );
    }
}
