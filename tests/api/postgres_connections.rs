//! The pool's PostgreSQL connections. One that answered a query moments ago is not asked again
//! at checkout (`db::Pooled`), so a server that closes its connections can fail a request: one
//! per process at most, never as a 500, and they are replaced without a restart. And a crowd's
//! wait for a connection never outlasts DATABASE_TIMEOUT.

use diesel::prelude::*;
use diesel::sql_types::Bool;
use microblog::db::DbConnection;
use reqwest::StatusCode;

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::database::TestDatabase;
use crate::helpers::{spawn_app, Browser, TestApp};
use crate::postgres::OwnServer;
use crate::process::TestProcess;

#[derive(QueryableByName)]
struct Ended {
    #[diesel(sql_type = Bool)]
    ended: bool,
}

/// Has PostgreSQL end every other connection to the app's database, as a restart or an
/// administrator would; returns how many it ended.
fn end_the_servers_connections(app: &TestApp) -> usize {
    let conn: &mut DbConnection = &mut app.pool.get().unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load::<Ended>(conn)
    .unwrap()
    .iter()
    .filter(|row| row.ended)
    .count()
}

#[tokio::test]
async fn connections_postgresql_closed_fail_one_request_at_most_and_are_replaced() {
    if !TestDatabase::on_postgres() {
        eprintln!("skipped: runs with TEST_DATABASE_URL=postgres://… (.ci/run does)");
        return;
    }
    // Arrange: a logged-in user whose home page was just served
    let app = spawn_app().await;
    let susan = Browser::new(&app.address);
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    susan.login("susan", "correct horse").await;
    assert_eq!(susan.get("/index").await.status(), StatusCode::OK);

    // Act: PostgreSQL ends the connections; the user goes on asking at once
    let ended = end_the_servers_connections(&app);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(susan.get("/index").await.status());
    }

    // Assert: one failure at most, our 503, then pages again
    assert!(ended >= 1, "the server held a connection");
    let failed = statuses
        .iter()
        .take_while(|s| **s != StatusCode::OK)
        .count();
    assert!(failed <= 1, "{failed} failures for {ended} connections");
    assert!(
        statuses[..failed]
            .iter()
            .all(|status| *status == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        statuses[failed..]
            .iter()
            .all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_crowd_during_an_outage_gets_its_503s_within_the_database_timeout() {
    if !TestDatabase::on_postgres() {
        eprintln!("skipped: runs with TEST_DATABASE_URL=postgres://… (.ci/run does)");
        return;
    }
    // Arrange: two connections and a server that stops
    let server = OwnServer::start();
    let app = TestProcess::start(&[
        ("DATABASE_URL", &server.url),
        ("DATABASE_TIMEOUT", "2"),
        ("DATABASE_POOL_SIZE", "2"),
    ]);
    let visitor = app.browser();
    assert_eq!(visitor.get("/explore").await.status(), StatusCode::OK);
    server.stop();

    // Act: twenty visitors at once, each query waiting for a thread, then for a connection
    let asked = Instant::now();
    let answers = join_all((0..20).map(|_| visitor.get("/explore"))).await;
    let took = asked.elapsed();

    // Assert: every one our 503, all within the 2 s timeout and a margin (were they queued one
    // behind another for the two connections, the last would wait 20 s)
    for answer in &answers {
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(took < Duration::from_secs(5), "the crowd took {took:?}");
}
