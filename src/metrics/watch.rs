//! Where the metrics read the values they take at scrape time, and the clock of the status
//! page's history: wired here, once the application's parts exist.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use super::readings::Live;
use crate::db;
use crate::web::state::AppState;

/// Tells the metrics where to read the values they take at scrape time, and samples the
/// status page's history every second.
pub fn watch_live_values(state: &web::Data<AppState>) {
    let pool = state.pool.clone();
    let reporter = Arc::downgrade(&state.error_reporter);
    let hashing_queue = state.hashers.queue_depth();
    let jobs = state.jobs.clone();
    state.metrics.read_live_values_with(Box::new(move || {
        let pool = pool.state();
        Live {
            pool_in_use: pool.in_use,
            pool_idle: pool.idle,
            pool_size: pool.size,
            database_down: pool.database_down,
            hashing_queue: hashing_queue(),
            mail_queue: reporter.upgrade().map_or(0, |r| r.mails_queued()),
            write_conflicts_retried: db::write_conflicts_retried(),
            jobs: jobs.counted(),
        }
    }));
    let metrics = Arc::downgrade(&state.metrics);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(metrics) = metrics.upgrade() else {
                return;
            };
            let live = metrics.live();
            metrics.history.tick(live.as_ref());
        }
    });
}
