//! The queue's upkeep: the jobs counted by status for the metrics, and the finished ones
//! deleted past their time.

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use std::sync::{Mutex, Weak};

use super::listing;
use crate::db::{self, DbPool};

/// Jobs by status, as last counted.
pub type Counted = Mutex<Vec<(String, i64)>>;

/// How long finished jobs stay visible: a succeeded one a day, a dead one thirty (as long as
/// a resolved error group), so the table cannot grow without end.
const KEEP_SUCCEEDED: TimeDelta = TimeDelta::days(1);
const KEEP_DEAD: TimeDelta = TimeDelta::days(30);

/// Counts the jobs by status every 5 seconds, for the metrics, and deletes the finished jobs
/// past their time every minute.
/// Ends once `counted` (held by the queue) is gone.
pub(super) async fn count_and_sweep(pool: DbPool, counted: Weak<Counted>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut ticks = 0u32;
    loop {
        tick.tick().await;
        if counted.strong_count() == 0 {
            return;
        }
        ticks = ticks.wrapping_add(1);
        if ticks % 12 == 1 {
            let now = Utc::now().naive_utc();
            let _ = db::run_unobserved(&pool, move |conn| {
                listing::delete_finished(conn, now - KEEP_SUCCEEDED, now - KEEP_DEAD)
            })
            .await;
        }
        if let Ok(counts) = db::run_unobserved(&pool, listing::counts).await {
            if let Some(counted) = counted.upgrade() {
                if let Ok(mut last) = counted.lock() {
                    *last = counts;
                }
            }
        }
    }
}
