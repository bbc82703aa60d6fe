//! What the site leaves on disk stays bounded: SQLite's write-ahead log shrinks back once a burst
//! of writes is over, instead of staying as large as the burst made it.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use microblog::db::schema::posts;
use microblog::db::{self, WAL_LIMIT_BYTES};

use crate::database::TestDatabase;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_wal_is_emptied_once_a_burst_of_writes_is_over() {
    if TestDatabase::on_postgres() {
        return; // PostgreSQL has no WAL file beside the database.
    }
    // Arrange
    let app = spawn_app().await;
    let susan = app.logged_in("susan").await;
    susan.publish("the first post").await;
    let wal = format!("{}-wal", app.settings.database_url.expose());
    let size = || std::fs::metadata(&wal).map_or(0, |meta| meta.len());

    // Act: a burst of commits while a reader holds its snapshot (as busy pages do), so no
    // checkpoint can reset the WAL until the burst is over
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        let mut reader = pool.get().unwrap();
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM posts;")
            .unwrap();
        let conn: &mut db::DbConnection = &mut pool.get().unwrap();
        let user_id: i32 = posts::table.select(posts::user_id).first(conn).unwrap();
        for n in 0..3_000 {
            diesel::insert_into(posts::table)
                .values((
                    posts::body.eq(format!("post {n} {}", "x".repeat(100))),
                    posts::timestamp.eq(chrono::Utc::now().naive_utc()),
                    posts::user_id.eq(user_id),
                ))
                .execute(conn)
                .unwrap();
        }
        reader.batch_execute("COMMIT;").unwrap();
    })
    .await
    .unwrap();
    let after_burst = size();

    // Assert
    let start = Instant::now();
    while size() > WAL_LIMIT_BYTES && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        after_burst > WAL_LIMIT_BYTES,
        "the burst grew the WAL: {after_burst} bytes"
    );
    assert!(
        size() <= WAL_LIMIT_BYTES,
        "the WAL is still {} bytes",
        size()
    );
}
