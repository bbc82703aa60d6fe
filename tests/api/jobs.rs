//! The job queue's guarantees, on the real database (SQLite, or PostgreSQL with
//! TEST_DATABASE_URL): two instances never run one job, a job whose worker died is taken again
//! once its lease runs out, a failed one waits before it runs again.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use microblog::config::DatabaseUrl;
use microblog::db::{self, DbPool};
use microblog::jobs::listing;
use microblog::jobs::queue::{self, NewJob, Outcome};

use crate::database::TestDatabase;

fn pool(database: &TestDatabase) -> DbPool {
    db::connect(
        &DatabaseUrl::parse(&database.url),
        4,
        Duration::from_secs(5),
    )
    .expect("the test database opens")
}

fn enqueue(pool: &DbPool, kind: &str) -> i64 {
    let mut conn = pool.get().unwrap();
    queue::enqueue(
        &mut conn,
        NewJob {
            kind,
            payload: "{}".to_string(),
            user_id: None,
            max_attempts: 5,
        },
    )
    .unwrap()
}

#[test]
fn fifty_jobs_claimed_by_two_instances_at_once_each_run_once() {
    // Arrange: two instances' pools on one database
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path());
    let (first, second) = (pool(&database), pool(&database));
    for _ in 0..50 {
        enqueue(&first, "test-once");
    }

    // Act: four workers on each instance claim until nothing is due
    let mut workers = Vec::new();
    for n in 0..8 {
        let pool = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        workers.push(std::thread::spawn(move || {
            let mut claimed = Vec::new();
            let mut conn = pool.get().unwrap();
            loop {
                match queue::claim(&mut conn, TimeDelta::seconds(30)) {
                    Ok(Some(job)) => {
                        queue::finish(&mut conn, job.id, &Outcome::Succeeded).unwrap();
                        claimed.push((job.id, job.attempts));
                    }
                    Ok(None) => return claimed,
                    // SQLite's writers wait their turn (busy_timeout); a refusal is a retry.
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }
    let claimed: Vec<(i64, i32)> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();

    // Assert
    let distinct: HashSet<i64> = claimed.iter().map(|(id, _)| *id).collect();
    assert_eq!(claimed.len(), 50, "each job claimed once: {claimed:?}");
    assert_eq!(distinct.len(), 50);
    assert!(claimed.iter().all(|(_, attempts)| *attempts == 1));
}

#[test]
fn a_job_whose_worker_died_is_taken_again_once_its_lease_runs_out() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path());
    let pool = pool(&database);
    let id = enqueue(&pool, "test-lease");
    let mut conn = pool.get().unwrap();
    let first = queue::claim(&mut conn, TimeDelta::milliseconds(300))
        .unwrap()
        .unwrap();

    // Act: the worker is gone; nobody renews its lease
    let while_held = queue::claim(&mut conn, TimeDelta::seconds(30)).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let after = queue::claim(&mut conn, TimeDelta::seconds(30)).unwrap();

    // Assert
    assert_eq!((first.id, first.attempts), (id, 1));
    assert!(while_held.is_none(), "not while its lease holds");
    let after = after.expect("taken again");
    assert_eq!((after.id, after.attempts), (id, 2));
}

#[test]
fn a_failed_job_waits_for_its_time_and_a_handed_back_one_keeps_its_attempts() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path());
    let pool = pool(&database);
    let failing = enqueue(&pool, "test-retry");
    let mut conn = pool.get().unwrap();
    let job = queue::claim(&mut conn, TimeDelta::seconds(30))
        .unwrap()
        .unwrap();
    let at = Utc::now().naive_utc() + TimeDelta::milliseconds(400);
    queue::finish(
        &mut conn,
        job.id,
        &Outcome::Retry {
            at,
            error: "Failed to export: the disk is full".to_string(),
        },
    )
    .unwrap();
    let handed_back = enqueue(&pool, "test-hand-back");

    // Act
    let next = queue::claim(&mut conn, TimeDelta::seconds(30))
        .unwrap()
        .unwrap();
    queue::finish(&mut conn, next.id, &Outcome::HandedBack).unwrap();
    let again = queue::claim(&mut conn, TimeDelta::seconds(30))
        .unwrap()
        .unwrap();
    let before_its_time = queue::claim(&mut conn, TimeDelta::seconds(30)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let retried = queue::claim(&mut conn, TimeDelta::seconds(30))
        .unwrap()
        .unwrap();

    // Assert
    assert_eq!(next.id, handed_back, "the failed one waits");
    assert_eq!(
        (again.id, again.attempts),
        (handed_back, 1),
        "the hand-back cost no attempt"
    );
    assert!(before_its_time.is_none());
    assert_eq!((retried.id, retried.attempts), (failing, 2));
    assert_eq!(retried.last_error, "Failed to export: the disk is full");
    assert_eq!(retried.status, "running");
}

#[test]
fn finished_jobs_are_deleted_after_their_time_and_unfinished_ones_never() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path());
    let pool = pool(&database);
    let done = enqueue(&pool, "test-done");
    let waiting = enqueue(&pool, "test-waiting");
    let mut conn = pool.get().unwrap();
    let claimed = queue::claim(&mut conn, TimeDelta::seconds(30))
        .unwrap()
        .unwrap();
    queue::finish(&mut conn, claimed.id, &Outcome::Succeeded).unwrap();
    let later = Utc::now().naive_utc() + TimeDelta::seconds(1);

    // Act
    let kept = listing::delete_finished(&mut conn, later - TimeDelta::days(1), later).unwrap();
    let deleted = listing::delete_finished(&mut conn, later, later).unwrap();

    // Assert
    assert_eq!((claimed.id, kept, deleted), (done, 0, 1));
    assert!(queue::find(&mut conn, done).unwrap().is_none());
    assert!(
        queue::find(&mut conn, waiting).unwrap().is_some(),
        "a queued job stays"
    );
}
