//! Jobs as the site runs them: a flaky job succeeds on its third attempt; one that always fails
//! waits longer after each attempt, then is dead with one ERROR line, a group in the error inbox
//! and one mail; an admin sees it and runs it again; a job whose process was killed finishes
//! after a restart.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use microblog::db::schema::{error_groups, jobs};
use microblog::models::User;
use reqwest::StatusCode;

use crate::database::TestDatabase;
use crate::helpers::{spawn_app_with, Browser, TestApp};
use crate::postgres::OwnServer;
use crate::process::TestProcess;
use crate::smtp::{subject_of, SmtpServer};

/// The job's (status, attempts, progress, last_error) once `done` says so (or after 20 s).
async fn job_when(
    app: &TestApp,
    id: i64,
    done: impl Fn(&str) -> bool,
) -> (String, i32, i32, String) {
    let start = Instant::now();
    loop {
        let job: (String, i32, i32, String) = app.query(|conn| {
            jobs::table
                .find(id)
                .select((
                    jobs::status,
                    jobs::attempts,
                    jobs::progress,
                    jobs::last_error,
                ))
                .first(conn)
                .unwrap()
        });
        if done(&job.0) || start.elapsed() > Duration::from_secs(20) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id of the last job queued.
fn last_job(app: &TestApp) -> i64 {
    app.query(|conn| {
        jobs::table
            .select(jobs::id)
            .order(jobs::id.desc())
            .first(conn)
            .unwrap()
    })
}

async fn admin(app: &TestApp) -> Browser {
    let root = app.logged_in("root").await;
    app.query(|conn| User::set_role(conn, "root", "admin").unwrap());
    root
}

#[tokio::test]
async fn a_flaky_job_succeeds_on_its_third_attempt() {
    // Arrange
    let app = spawn_app_with(&[("ERROR_LAB", "1"), ("JOB_RETRY_SECONDS", "0")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let page = susan.post("/lab/job-retry", &[]).await;
    let id = last_job(&app);
    let job = job_when(&app, id, |status| status == "succeeded").await;

    // Assert
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!((job.0.as_str(), job.1, job.2), ("succeeded", 3, 100));
    assert!(job.3.contains("failed on attempt 2"), "{}", job.3);
}

#[tokio::test]
async fn a_failing_job_waits_longer_each_time_then_is_dead_with_one_mail_and_a_group() {
    // Arrange
    let smtp = SmtpServer::start();
    let port = smtp.port.to_string();
    let app = spawn_app_with(&[
        ("ERROR_LAB", "1"),
        ("MAIL_SERVER", "127.0.0.1"),
        ("MAIL_PORT", &port),
        ("ADMINS", "admin@example.com"),
        ("JOB_RETRY_SECONDS", "1"),
        ("JOB_MAX_ATTEMPTS", "3"),
    ])
    .await;
    let root = admin(&app).await;

    // Act
    root.post("/lab/job-dead", &[]).await;
    let id = last_job(&app);
    let retrying = job_when(&app, id, |status| status == "retrying").await;
    let wait: (chrono::NaiveDateTime, chrono::NaiveDateTime) = app.query(|conn| {
        jobs::table
            .find(id)
            .select((jobs::run_at, jobs::updated_at))
            .first(conn)
            .unwrap()
    });
    let started = Instant::now();
    let dead = job_when(&app, id, |status| status == "dead").await;
    let took = started.elapsed();
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let group: Vec<String> = app.query(|conn| {
        error_groups::table
            .select(error_groups::fingerprint)
            .load(conn)
            .unwrap()
    });
    let page = root.get_html("/admin/jobs?status=dead").await;
    let retried = root.post(&format!("/admin/jobs/{id}/retry"), &[]).await;
    let again = job_when(&app, id, |status| status == "dead").await;

    // Assert
    assert_eq!((retrying.0.as_str(), retrying.1), ("retrying", 1));
    let first_wait = (wait.0 - wait.1).num_milliseconds();
    assert!(
        (900..=1400).contains(&first_wait),
        "the first wait: {first_wait} ms"
    );
    assert_eq!((dead.0.as_str(), dead.1), ("dead", 3));
    assert!(
        took >= Duration::from_secs(2),
        "the second wait doubles: {took:?}"
    );
    assert!(dead.2 < 100, "never 100% for a failure");
    assert!(
        dead.3.contains("The lab's job fails every time"),
        "{}",
        dead.3
    );
    assert_eq!(smtp.messages().len(), 1, "one mail, for the last failure");
    assert!(subject_of(&mails[0]).contains("Failed to run the lab's job-dead"));
    assert!(
        group
            .iter()
            .any(|place| place.starts_with("job lab-job-dead: error at ")),
        "{group:?}"
    );
    assert!(page.contains(&format!("Job {id} · lab-job-dead")) && page.contains("Retry now"));
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.1, 4, "one more attempt");
}

#[tokio::test]
async fn a_job_whose_process_was_killed_finishes_after_a_restart() {
    // Arrange
    let mut app = TestProcess::start(&[("ERROR_LAB", "1"), ("JOB_LEASE_SECONDS", "3")]);
    let browser = app.browser();
    browser.post("/lab/job-slow", &[]).await;
    let started = app
        .wait_for("microblog.log", |log| log.contains("Job started"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Act: SIGKILL in the middle of the job, then a new process on the same database
    app.kill_and_restart();
    let finished = app
        .wait_for_within(
            "microblog.log",
            |log| log.contains("Job succeeded"),
            Duration::from_secs(40),
        )
        .await;

    // Assert
    assert!(
        !started.contains("Job succeeded"),
        "it was still running when killed"
    );
    let line = finished
        .lines()
        .find(|line| line.contains("Job succeeded"))
        .expect("the job finished");
    assert!(
        line.contains("attempt=2"),
        "taken again after its lease ran out: {line}"
    );
}

#[tokio::test]
async fn a_job_running_at_sigterm_is_handed_back_and_finishes_after_the_restart() {
    // Arrange
    let mut app = TestProcess::start(&[("ERROR_LAB", "1"), ("SHUTDOWN_TIMEOUT", "1")]);
    app.browser().post("/lab/job-slow", &[]).await;
    app.wait_for("microblog.log", |log| log.contains("Job started"))
        .await;

    // Act
    app.terminate();
    let exited = tokio::task::spawn_blocking({
        let started = Instant::now();
        move || {
            let status = app.wait_for_exit();
            (app, status, started.elapsed())
        }
    })
    .await
    .unwrap();
    let (mut app, status, took) = exited;
    let handed_back = app.read("microblog.log");
    app.kill_and_restart();
    let finished = app
        .wait_for_within(
            "microblog.log",
            |log| log.contains("Job succeeded"),
            Duration::from_secs(30),
        )
        .await;

    // Assert
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(took < Duration::from_secs(8), "stopped in {took:?}");
    assert!(
        handed_back.contains("Job handed back unfinished"),
        "{handed_back}"
    );
    let line = finished
        .lines()
        .find(|line| line.contains("Job succeeded"))
        .expect("the job finished after the restart");
    assert!(
        line.contains("attempt=1"),
        "the hand-back cost no attempt: {line}"
    );
}

#[tokio::test]
async fn a_job_that_meets_a_database_outage_runs_again_once_it_is_back() {
    if !TestDatabase::on_postgres() {
        eprintln!("skipped: runs with TEST_DATABASE_URL=postgres://… (.ci/run does)");
        return;
    }
    // Arrange: a server of the test's own, and a job that writes its progress every second
    let server = OwnServer::start();
    let app = TestProcess::start(&[
        ("DATABASE_URL", &server.url),
        ("DATABASE_TIMEOUT", "1"),
        ("ERROR_LAB", "1"),
        ("JOB_LEASE_SECONDS", "3"),
        ("JOB_RETRY_SECONDS", "1"),
    ]);
    app.browser().post("/lab/job-slow", &[]).await;
    app.wait_for("microblog.log", |log| log.contains("Job started"))
        .await;

    // Act: the database goes away in the middle of the job, and comes back
    server.stop();
    tokio::time::sleep(Duration::from_secs(4)).await;
    server.restart();
    let finished = app
        .wait_for_within(
            "microblog.log",
            |log| log.contains("Job succeeded"),
            Duration::from_secs(40),
        )
        .await;

    // Assert
    let line = finished
        .lines()
        .find(|line| line.contains("Job succeeded"))
        .expect("the job finished once the database was back");
    assert!(!line.contains("attempt=1 "), "it ran again: {line}");
}
