//! The workers: JOB_WORKERS tasks in the app's process, each claiming one due job at a time,
//! renewing its lease while it runs, and recording how it ended. A job that fails waits its
//! backoff and runs again; after JOB_MAX_ATTEMPTS it is dead: one ERROR line, and a report to
//! the error inbox and the admins' mail, as for a failed request. On shutdown, a job that does
//! not finish in time is handed back for another worker.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use tokio::sync::Notify;
use tracing::Instrument;

use super::backoff::{jitter, wait_after};
use super::queue::{self, Job, NewJob, Outcome};
use super::upkeep::{count_and_sweep, Counted};
use crate::config::JobSettings;
use crate::db::{self, DbPool};
use crate::errors::report::ErrorReport;
use crate::errors::{AppError, Chain};
use crate::mail::error_reports::ErrorReporter;
use crate::metrics::{Metrics, OutcomeLabels};

/// What a running job may do besides its work: say how far it got.
pub struct JobContext {
    pub job: Job,
    pool: DbPool,
}

impl JobContext {
    /// Records the job's progress, in percent (shown as at most 99 until it has succeeded).
    pub async fn progress(&self, percent: i32) -> Result<(), AppError> {
        let id = self.job.id;
        db::run_unobserved(&self.pool, move |conn| {
            queue::set_progress(conn, id, percent)
        })
        .await
    }
}

/// How a run ended, as the worker sees it.
enum Ended {
    Done(Result<(), AppError>),
    LeaseLost,
    Stopping,
}

/// A job's work, by kind.
pub type Work = Pin<Box<dyn Future<Output = Result<(), AppError>> + Send>>;
pub type Runner = Arc<dyn Fn(JobContext) -> Work + Send + Sync>;

/// The queue as the application uses it: add jobs, and the workers that run them.
pub struct Jobs {
    settings: JobSettings,
    pool: DbPool,
    runner: Runner,
    reporter: Arc<ErrorReporter>,
    /// Wakes an idle worker when a job was added.
    added: Notify,
    stopping: AtomicBool,
    /// Fires when running jobs must be handed back (shutdown's time is up).
    hand_back: Notify,
    running: AtomicUsize,
    metrics: Arc<Metrics>,
    /// Jobs by status, counted every few seconds for the metrics (a scrape never waits on the
    /// database).
    counted: Arc<Counted>,
}

impl Jobs {
    /// The queue and its workers, running jobs with `runner`.
    pub fn start(
        settings: JobSettings,
        pool: DbPool,
        reporter: Arc<ErrorReporter>,
        runner: Runner,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let jobs = Arc::new(Jobs {
            settings,
            pool,
            runner,
            reporter,
            added: Notify::new(),
            stopping: AtomicBool::new(false),
            hand_back: Notify::new(),
            running: AtomicUsize::new(0),
            metrics,
            counted: Arc::new(Counted::default()),
        });
        tokio::spawn(count_and_sweep(
            jobs.pool.clone(),
            Arc::downgrade(&jobs.counted),
        ));
        for _ in 0..settings.workers {
            tokio::spawn(work(Arc::downgrade(&jobs)));
        }
        jobs
    }

    /// Adds a job of `kind`, due at once, with JOB_MAX_ATTEMPTS attempts; its id.
    pub async fn add(
        &self,
        kind: &'static str,
        payload: String,
        user_id: Option<i32>,
    ) -> Result<i64, AppError> {
        self.add_with_attempts(kind, payload, user_id, self.settings.max_attempts)
            .await
    }

    /// [`Jobs::add`] with its own number of attempts.
    pub async fn add_with_attempts(
        &self,
        kind: &'static str,
        payload: String,
        user_id: Option<i32>,
        max_attempts: i32,
    ) -> Result<i64, AppError> {
        let id = db::run(&self.pool, move |conn| {
            queue::enqueue(
                conn,
                NewJob {
                    kind,
                    payload,
                    user_id,
                    max_attempts,
                },
            )
        })
        .await?;
        self.added.notify_one();
        Ok(id)
    }

    /// Jobs by status, as last counted.
    pub fn counted(&self) -> Vec<(String, i64)> {
        self.counted
            .lock()
            .map(|counted| counted.clone())
            .unwrap_or_default()
    }

    /// Wakes an idle worker: a job became due.
    pub fn wake(&self) {
        self.added.notify_one();
    }

    /// Stops claiming; waits at most `limit` for the running jobs, then hands them back.
    pub async fn stop(&self, limit: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.added.notify_waiters();
        let start = Instant::now();
        while self.running.load(Ordering::SeqCst) > 0 && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.hand_back.notify_waiters();
        let grace = Instant::now();
        while self.running.load(Ordering::SeqCst) > 0 && grace.elapsed() < Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One worker: claims and runs jobs until the queue stops.
async fn work(jobs: std::sync::Weak<Jobs>) {
    loop {
        let Some(strong) = jobs.upgrade() else { return };
        if strong.stopping.load(Ordering::SeqCst) {
            return;
        }
        let lease = TimeDelta::from_std(strong.settings.lease).unwrap_or(TimeDelta::seconds(30));
        let claimed = db::run_unobserved(&strong.pool, move |conn| queue::claim(conn, lease)).await;
        match claimed {
            Ok(Some(job)) => strong.run(job).await,
            // Nothing due, or the database away (the jobs stay in it): wait for a new job or
            // the next look.
            _ => {
                let _ = tokio::time::timeout(Duration::from_secs(1), strong.added.notified()).await;
            }
        }
    }
}

impl Jobs {
    async fn run(&self, job: Job) {
        let span = tracing::info_span!(parent: None, "job", job = job.id, kind = %job.kind, attempt = job.attempts);
        self.run_in_span(job).instrument(span).await;
    }

    async fn run_in_span(&self, job: Job) {
        self.running.fetch_add(1, Ordering::SeqCst);
        let (id, kind, attempt, max) = (job.id, job.kind.clone(), job.attempts, job.max_attempts);
        let context = JobContext {
            job,
            pool: self.pool.clone(),
        };
        tracing::info!(job = id, kind = %kind, attempt, "Job started");
        let started = Instant::now();
        let work = crate::errors::panics::catching_async((self.runner)(context));
        let renewing = self.renew_lease(id);
        let ended = tokio::select! {
            result = work => Ended::Done(result),
            _ = renewing => Ended::LeaseLost,
            _ = self.hand_back.notified() => Ended::Stopping,
        };
        let outcome = match ended {
            Ended::Done(Ok(())) => {
                tracing::info!(job = id, kind = %kind, attempt, seconds = started.elapsed().as_secs_f64(), "Job succeeded");
                Outcome::Succeeded
            }
            Ended::Done(Err(error)) => self.failed(id, &kind, attempt, max, &error),
            Ended::Stopping => {
                tracing::warn!(job = id, kind = %kind, attempt, "Job handed back unfinished: the process is stopping");
                Outcome::HandedBack
            }
            Ended::LeaseLost => {
                // Another worker may hold it now: record nothing over its work.
                tracing::warn!(job = id, kind = %kind, attempt, "Job abandoned: its lease ran out while it ran");
                self.running.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        };
        self.metrics
            .job_duration
            .observe(started.elapsed().as_secs_f64());
        let label = match &outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Retry { .. } => "retrying",
            Outcome::Dead { .. } => "dead",
            Outcome::HandedBack => "handed_back",
        };
        self.metrics
            .job_runs
            .get_or_create(&OutcomeLabels { outcome: label })
            .inc();
        let recorded =
            db::run_unobserved(&self.pool, move |conn| queue::finish(conn, id, &outcome)).await;
        if let Err(error) = recorded {
            // The lease runs out and another worker takes the job again: nothing is lost.
            tracing::warn!(error.chain = %Chain(&error), "How a job ended could not be recorded; it will run again");
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
    }

    /// Renews the lease every third of it; returns only if the lease was lost.
    async fn renew_lease(&self, id: i64) {
        let lease = TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::seconds(30));
        let mut tick = tokio::time::interval(self.settings.lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            let held =
                db::run_unobserved(&self.pool, move |conn| queue::renew(conn, id, lease)).await;
            if let Ok(false) = held {
                return;
            }
        }
    }

    /// What a failure means: another attempt after a wait, or the end.
    fn failed(&self, id: i64, kind: &str, attempt: i32, max: i32, error: &AppError) -> Outcome {
        let mut report = ErrorReport::from_error(Some(error), "A job failed");
        // The causes, each on one line and redacted as in the mails; not "An unexpected error…".
        let text = report
            .chain
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(": ");
        if attempt < max {
            let wait = wait_after(attempt, self.settings.first_retry, jitter());
            let at = Utc::now().naive_utc() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
            tracing::warn!(job = id, kind, attempt, error.chain = %Chain(error), retry_in_seconds = wait.as_secs(), "Job failed; it will be tried again");
            return Outcome::Retry { at, error: text };
        }
        tracing::error!(job = id, kind, attempt, error.chain = %Chain(error), "Job failed for the last time");
        report.place = format!("job {kind}: {}", report.place);
        report.task = format!("job {kind}");
        self.reporter.report(report);
        Outcome::Dead { error: text }
    }
}
