//! Memory at rest comes back: the password hashing threads keep their argon2 memory (19 MiB
//! each) while logins keep coming, and give it back after a quiet while.

use std::time::{Duration, Instant};

use crate::process::TestProcess;

#[tokio::test]
async fn hashing_memory_is_given_back_after_a_quiet_while() {
    // Arrange: hashes on every hashing thread at once
    let app = TestProcess::start(&[("RATE_LIMITS", "0")]);
    let before = app.rss_mb();
    let app = &app;
    let logins = (0..8).map(|n| async move {
        let browser = app.browser();
        browser
            .register(
                &format!("user{n}"),
                &format!("user{n}@example.com"),
                "correct horse",
            )
            .await;
    });
    futures_util::future::join_all(logins).await;
    let busy = app.rss_mb();

    // Act: quiet
    let start = Instant::now();
    let mut rest = busy;
    while start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rest = app.rss_mb();
        if busy - rest > 15.0 {
            break;
        }
    }

    // Assert
    assert!(
        busy - before > 15.0,
        "hashing took memory: {before:.0} → {busy:.0} MB"
    );
    assert!(
        busy - rest > 15.0,
        "{busy:.0} MB busy, still {rest:.0} MB after a quiet while"
    );
}
