//! The last hour of this instance, minute by minute, kept in memory for `/admin/status`:
//! requests per second, the median and 99th percentile latency, 4xx and 5xx, error mails,
//! rate-limit refusals, memory and the pool. Several instances each keep their own; Prometheus
//! is the whole site's view.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use super::readings::{process, Live};

/// The latency histogram's upper bounds, in seconds: 1 ms doubling to about 16 s.
pub const LATENCY_BOUNDS: [f64; 15] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192, 16.384,
];

/// Minutes kept: one hour.
const MINUTES: usize = 60;

/// Counts since the start, sampled into minutes.
#[derive(Default)]
pub struct History {
    requests: Counter,
    client_errors: Counter,
    server_errors: Counter,
    /// One count per latency bucket, the last one past the highest bound.
    latency: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    pub(super) error_mails: Counter,
    pub(super) rate_limited: Counter,
    minutes: Mutex<Minutes>,
}

#[derive(Default)]
struct Minutes {
    closed: VecDeque<Point>,
    /// The counts when the current minute started, and when it did.
    start: Option<(Instant, u64, Counts)>,
}

/// The counts the history takes differences of.
#[derive(Clone, Copy, Default)]
struct Counts {
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    error_mails: u64,
    rate_limited: u64,
    latency: [u64; LATENCY_BOUNDS.len() + 1],
}

/// One minute (or the current part of one) as the status page draws it.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// When the minute started, in seconds since 1970.
    pub at: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub error_mails: u64,
    pub rate_limited: u64,
    pub resident_mb: f64,
    pub pool_in_use: u32,
    pub pool_size: u32,
    /// Background jobs queued or waiting to retry.
    pub jobs_waiting: i64,
    pub jobs_dead: i64,
}

impl History {
    /// One request answered with `status` in `seconds`.
    pub fn record(&self, status: u16, seconds: f64) {
        self.requests.inc();
        match status {
            400..=499 => {
                self.client_errors.inc();
            }
            500..=599 => {
                self.server_errors.inc();
            }
            _ => {}
        }
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> Counts {
        let mut latency = [0; LATENCY_BOUNDS.len() + 1];
        for (slot, count) in latency.iter_mut().zip(&self.latency) {
            *slot = count.load(Ordering::Relaxed);
        }
        Counts {
            requests: self.requests.get(),
            client_errors: self.client_errors.get(),
            server_errors: self.server_errors.get(),
            error_mails: self.error_mails.get(),
            rate_limited: self.rate_limited.get(),
            latency,
        }
    }

    /// Closes the current minute once it is a minute old (the sampler calls this every second).
    pub fn tick(&self, live: Option<&Live>) {
        let now = Instant::now();
        let counts = self.counts();
        let mut minutes = self.lock();
        match minutes.start {
            None => minutes.start = Some((now, unix_now(), counts)),
            Some((started, at, before))
                if now.duration_since(started) >= Duration::from_secs(60) =>
            {
                let point = point(at, now.duration_since(started), &before, &counts, live);
                minutes.closed.push_back(point);
                while minutes.closed.len() > MINUTES {
                    minutes.closed.pop_front();
                }
                minutes.start = Some((now, unix_now(), counts));
            }
            Some(_) => {}
        }
    }

    /// The closed minutes of the last hour, and the current one so far.
    pub fn points(&self, live: Option<&Live>) -> Vec<Point> {
        let counts = self.counts();
        let minutes = self.lock();
        let mut points: Vec<Point> = minutes.closed.iter().cloned().collect();
        if let Some((started, at, before)) = minutes.start {
            points.push(point(at, started.elapsed(), &before, &counts, live));
        }
        points
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Minutes> {
        self.minutes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn point(at: u64, took: Duration, before: &Counts, after: &Counts, live: Option<&Live>) -> Point {
    let mut latency = [0; LATENCY_BOUNDS.len() + 1];
    for (index, slot) in latency.iter_mut().enumerate() {
        *slot = after.latency[index].saturating_sub(before.latency[index]);
    }
    let requests = after.requests.saturating_sub(before.requests);
    Point {
        at,
        requests_per_second: requests as f64 / took.as_secs_f64().max(1.0),
        p50_ms: quantile(&latency, 0.5) * 1000.0,
        p99_ms: quantile(&latency, 0.99) * 1000.0,
        client_errors: after.client_errors.saturating_sub(before.client_errors),
        server_errors: after.server_errors.saturating_sub(before.server_errors),
        error_mails: after.error_mails.saturating_sub(before.error_mails),
        rate_limited: after.rate_limited.saturating_sub(before.rate_limited),
        resident_mb: process().map_or(0.0, |p| p.resident_bytes as f64 / 1_048_576.0),
        pool_in_use: live.map_or(0, |live| live.pool_in_use),
        pool_size: live.map_or(0, |live| live.pool_size),
        jobs_waiting: jobs_with(live, &["queued", "retrying"]),
        jobs_dead: jobs_with(live, &["dead"]),
    }
}

fn jobs_with(live: Option<&Live>, statuses: &[&str]) -> i64 {
    live.map_or(0, |live| {
        live.jobs
            .iter()
            .filter(|(status, _)| statuses.contains(&status.as_str()))
            .map(|(_, count)| count)
            .sum()
    })
}

/// The bucket bound under which `q` of the counts fall (0 without any).
fn quantile(buckets: &[u64], q: f64) -> f64 {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let wanted = (total as f64 * q).ceil() as u64;
    let mut seen = 0;
    for (index, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= wanted {
            return LATENCY_BOUNDS
                .get(index)
                .copied()
                .unwrap_or(LATENCY_BOUNDS[LATENCY_BOUNDS.len() - 1]);
        }
    }
    LATENCY_BOUNDS[LATENCY_BOUNDS.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantiles_are_the_bounds_of_the_buckets_they_fall_in() {
        let history = History::default();
        for _ in 0..98 {
            history.record(200, 0.0015);
        }
        history.record(500, 0.3);
        history.record(404, 0.3);
        let points = {
            history.tick(None);
            history.points(None)
        };
        let now = &points[points.len() - 1];
        assert_eq!(now.p50_ms, 0.0, "no requests since the minute started");
        let counts = history.counts();
        let all = point(
            0,
            Duration::from_secs(60),
            &Counts::default(),
            &counts,
            None,
        );
        assert_eq!(all.p50_ms, 2.0);
        assert_eq!(all.p99_ms, 512.0);
        assert_eq!((all.client_errors, all.server_errors), (1, 1));
    }
}
