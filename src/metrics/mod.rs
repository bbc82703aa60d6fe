//! Seeing the site run: Prometheus metrics on a listener of their own (METRICS_ADDR), and the
//! last hour in memory for the admins' status page.
//!
//! - [`Metrics`]: every counter, gauge and histogram, registered once (this file); their
//!   labels in [`labels`].
//! - [`middleware`]: requests by method, route template and status, and their latency.
//! - [`readings`]: values read at scrape time (the pool, the queues, the process).
//! - [`history`]: the last hour, minute by minute, for `/admin/status`.
//! - [`listener`]: `GET /metrics` on METRICS_ADDR, never on the public port.
//! - [`watch`]: where the readings come from, and the history's clock.
//!
//! Every label value is bounded by the code: a route template (never the raw path), a method
//! from a fixed list, a status code, a limit's name. Nothing a stranger sends makes a series.

pub mod history;
pub mod labels;
pub mod listener;
pub mod middleware;
pub mod readings;
pub mod watch;

use std::sync::{Arc, OnceLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use history::History;
pub use labels::{LimitLabels, Method, OutcomeLabels, RequestLabels, RouteLabels, StatusLabels};
use readings::{LiveReadings, ReadNow};

/// Latency buckets from 1 ms to about 16 s, doubling: enough to tell a page from a slow one.
fn latency_histogram() -> Histogram {
    Histogram::new(history::LATENCY_BOUNDS.iter().copied())
}

/// Every metric of one application. Cheap to clone (each metric is shared).
/// How an avatar upload ended: a fixed set, so a client cannot make new series.
pub const AVATAR_OUTCOMES: [&str; 6] = [
    "saved",
    "too_large",
    "not_an_image",
    "too_many_pixels",
    "rate_limited",
    "failed",
];

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<RouteLabels, Histogram>,
    pub unhandled_errors: Counter,
    pub panics: Counter,
    pub client_errors: Family<StatusLabels, Counter>,
    pub request_timeouts: Counter,
    pub csrf_refusals: Counter,
    pub rate_limited: Family<LimitLabels, Counter>,
    pub hashing_refusals: Counter,
    pub pool_timeouts: Counter,
    pub pool_wait: Histogram,
    pub error_mails: Family<OutcomeLabels, Counter>,
    pub sentry_events: Family<OutcomeLabels, Counter>,
    pub job_runs: Family<OutcomeLabels, Counter>,
    pub avatar_uploads: Family<OutcomeLabels, Counter>,
    pub job_duration: Histogram,
    /// The last hour, for the status page.
    pub history: History,
    live: Arc<OnceLock<ReadNow>>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::default();
        let live = Arc::new(OnceLock::new());
        let metrics = Metrics {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            unhandled_errors: Counter::default(),
            panics: Counter::default(),
            client_errors: Family::default(),
            request_timeouts: Counter::default(),
            csrf_refusals: Counter::default(),
            rate_limited: Family::default(),
            hashing_refusals: Counter::default(),
            pool_timeouts: Counter::default(),
            pool_wait: Histogram::new([0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 5.0]),
            error_mails: Family::default(),
            sentry_events: Family::default(),
            job_runs: Family::default(),
            avatar_uploads: Family::default(),
            job_duration: latency_histogram(),
            history: History::default(),
            live: live.clone(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "microblog_http_requests",
            "HTTP requests answered, by method, route template and status",
            metrics.requests.clone(),
        );
        r.register_with_unit(
            "microblog_http_request_duration",
            "Time to answer a request, by route template",
            Unit::Seconds,
            metrics.request_duration.clone(),
        );
        r.register(
            "microblog_unhandled_errors",
            "Requests answered 500: a bug or an unexpected failure",
            metrics.unhandled_errors.clone(),
        );
        r.register(
            "microblog_panics",
            "Handlers or tasks that panicked (each answered with our 500 page)",
            metrics.panics.clone(),
        );
        r.register(
            "microblog_client_errors",
            "Requests answered 4xx, by status",
            metrics.client_errors.clone(),
        );
        r.register(
            "microblog_request_timeouts",
            "Requests whose body did not arrive in REQUEST_TIMEOUT (408)",
            metrics.request_timeouts.clone(),
        );
        r.register(
            "microblog_csrf_refusals",
            "Forms refused for a missing or wrong CSRF token",
            metrics.csrf_refusals.clone(),
        );
        r.register(
            "microblog_rate_limited",
            "Requests refused by a rate limit, by limit",
            metrics.rate_limited.clone(),
        );
        r.register(
            "microblog_password_hashing_refusals",
            "Password checks refused because the hashing queue was full (503)",
            metrics.hashing_refusals.clone(),
        );
        r.register(
            "microblog_db_pool_timeouts",
            "Requests that waited DATABASE_TIMEOUT for a connection and got none",
            metrics.pool_timeouts.clone(),
        );
        r.register_with_unit(
            "microblog_db_pool_wait",
            "Time spent waiting for a database connection",
            Unit::Seconds,
            metrics.pool_wait.clone(),
        );
        r.register("microblog_error_mails", "Error mails and reports, by outcome: sent and failed (mails), held_back (groups over the per-minute cap, mailed later), dropped (reports, queue or memory full)", metrics.error_mails.clone());
        r.register(
            "microblog_sentry_events",
            "Events for Sentry, by outcome: queued, throttled (over the per-group limit)",
            metrics.sentry_events.clone(),
        );
        r.register(
            "microblog_job_runs",
            "Runs of background jobs, by outcome: succeeded, retrying, dead, handed_back",
            metrics.job_runs.clone(),
        );
        r.register(
            "microblog_avatar_uploads",
            "Avatar uploads, by outcome: saved, too_large, not_an_image, too_many_pixels, rate_limited, failed",
            metrics.avatar_uploads.clone(),
        );
        r.register_with_unit(
            "microblog_job_duration",
            "Time a job's run took",
            Unit::Seconds,
            metrics.job_duration.clone(),
        );
        r.register_collector(Box::new(LiveReadings::new(live)));
        // Every outcome from the start, at 0: a rate over a series that appears later misses
        // its first increase.
        for outcome in ["sent", "failed", "held_back", "dropped"] {
            let _ = metrics
                .error_mails
                .get_or_create(&OutcomeLabels { outcome });
        }
        for outcome in ["succeeded", "retrying", "dead", "handed_back"] {
            let _ = metrics.job_runs.get_or_create(&OutcomeLabels { outcome });
        }
        for outcome in crate::metrics::AVATAR_OUTCOMES {
            let _ = metrics
                .avatar_uploads
                .get_or_create(&OutcomeLabels { outcome });
        }
        for outcome in ["queued", "throttled"] {
            let _ = metrics
                .sentry_events
                .get_or_create(&OutcomeLabels { outcome });
        }
        Arc::new(Metrics {
            registry,
            ..metrics
        })
    }

    /// Where the values read at scrape time come from; set once, when the application is built.
    pub fn read_live_values_with(&self, read: ReadNow) {
        let _ = self.live.set(read);
    }

    /// The values read at scrape time, for the status page too.
    pub fn live(&self) -> Option<readings::Live> {
        self.live.get().map(|read| read())
    }

    /// Every metric in Prometheus's text format (0.0.4, which `promtool check metrics` reads);
    /// `None` if one could not be written (the scrape then fails, and `up` says so).
    pub fn render(&self) -> Option<String> {
        let mut body = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut body, &self.registry).ok()?;
        Some(body)
    }

    /// An error mail's outcome.
    pub fn error_mail(&self, outcome: &'static str, count: u64) {
        self.error_mails
            .get_or_create(&OutcomeLabels { outcome })
            .inc_by(count);
        if outcome == "sent" {
            self.history.error_mails.inc_by(count);
        }
    }

    /// An avatar upload's outcome, one of [`AVATAR_OUTCOMES`].
    pub fn avatar_upload(&self, outcome: &'static str) {
        self.avatar_uploads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A Sentry event's outcome: `queued`, or `throttled` by the per-group limit.
    pub fn sentry_event(&self, outcome: &'static str) {
        self.sentry_events
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// One request answered: its method, route template, status and time.
    pub fn observe(&self, method: Method, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
        match status {
            500 => {
                self.unhandled_errors.inc();
            }
            408 => {
                self.request_timeouts.inc();
            }
            _ => {}
        }
        if (400..500).contains(&status) {
            self.client_errors
                .get_or_create(&StatusLabels { status })
                .inc();
        }
        self.history.record(status, seconds);
    }

    /// A counter of refusals for the rate limit `limit`, shared with the status page.
    pub fn rate_limit_counter(&self, limit: &'static str) -> RateLimitCounter {
        RateLimitCounter {
            by_limit: self
                .rate_limited
                .get_or_create_owned(&LimitLabels { limit }),
            all: self.history.rate_limited.clone(),
        }
    }
}

/// Counts one rate limit's refusals, for Prometheus and for the status page.
#[derive(Clone, Default)]
pub struct RateLimitCounter {
    by_limit: Counter,
    all: Counter,
}

impl RateLimitCounter {
    pub fn inc(&self) {
        self.by_limit.inc();
        self.all.inc();
    }
}
