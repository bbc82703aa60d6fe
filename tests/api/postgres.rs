//! PostgreSQL for real: an outage made by stopping the server, and two instances behind nginx on
//! one database. They run when the suite runs on PostgreSQL (`TEST_DATABASE_URL`), as `.ci/run`
//! does; nginx and `scripts/postgres.sh` come from Debian's packages.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::future::join_all;
use microblog::db::schema::{error_groups, users};
use microblog::db::{self, DatabaseUrl};
use reqwest::StatusCode;

use crate::database::TestDatabase;
use crate::helpers::Browser;
use crate::process::{all_files, TestProcess};

/// Runs `scripts/postgres.sh` and returns what it printed.
fn postgres_script(args: &[&str]) -> String {
    let output = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh"))
        .args(args)
        .output()
        .expect("scripts/postgres.sh runs");
    assert!(
        output.status.success(),
        "postgres.sh {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A PostgreSQL server of this test's own, so stopping it disturbs no other test.
pub(crate) struct OwnServer {
    dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl OwnServer {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = postgres_script(&["start", dir.path().to_str().unwrap()]);
        OwnServer { dir, url }
    }

    pub(crate) fn stop(&self) {
        postgres_script(&["stop", self.dir.path().to_str().unwrap()]);
    }

    pub(crate) fn restart(&self) {
        postgres_script(&["start", self.dir.path().to_str().unwrap()]);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh"))
            .args(["stop", self.dir.path().to_str().unwrap()])
            .stderr(Stdio::null())
            .status();
    }
}

fn log_lines(app: &TestProcess, text: &str) -> usize {
    app.read("microblog.log").matches(text).count()
}

#[tokio::test]
async fn a_postgres_outage_answers_503_quickly_is_logged_and_mailed_once_and_heals_itself() {
    if !TestDatabase::on_postgres() {
        eprintln!("skipped: runs with TEST_DATABASE_URL=postgres://… (.ci/run does)");
        return;
    }
    // Arrange: a logged-in user on a server of the test's own
    let server = OwnServer::start();
    let app = TestProcess::start(&[("DATABASE_URL", &server.url), ("DATABASE_TIMEOUT", "2")]);
    let susan = app.browser();
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    susan.login("susan", "correct horse").await;
    assert_eq!(susan.get("/index").await.status(), StatusCode::OK);

    // Act: PostgreSQL stops; the site is asked for pages, the API and readiness
    server.stop();
    let start = Instant::now();
    let mut answers = Vec::new();
    for path in ["/index", "/explore", "/user/susan", "/readyz", "/index"] {
        let asked = Instant::now();
        let response = susan.get(path).await;
        answers.push((path, response.status(), asked.elapsed(), response));
    }
    let outage = start.elapsed();
    let ready_again = {
        server.restart();
        let restarted = Instant::now();
        let mut healed = false;
        while restarted.elapsed() < Duration::from_secs(20) {
            if susan.get("/readyz").await.status() == StatusCode::OK {
                healed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        healed
    };

    // Assert: every answer is our 503, within the pool's 2 s timeout and a margin
    for (path, status, took, _) in &answers {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(*took < Duration::from_secs(4), "{path} took {took:?}");
    }
    let (_, _, _, page) = answers.remove(0);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("temporarily unavailable"));
    assert!(outage < Duration::from_secs(20));
    // One ERROR line and one mail for the whole outage
    app.wait_for("microblog.log", |log| {
        log.contains("The database answers again")
    })
    .await;
    assert_eq!(log_lines(&app, "The database is unavailable"), 1);
    assert_eq!(
        log_lines(&app, " ERROR "),
        1,
        "{}",
        app.read("microblog.log")
    );
    let outbox = app.log_dir.join("mail");
    wait_until(Duration::from_secs(10), || !all_files(&outbox).is_empty()).await;
    let mails = all_files(&outbox);
    assert_eq!(mails.len(), 1, "one mail per outage");
    // The first failure is the query on a connection that answered moments before (not asked
    // again at checkout), or the checkout itself.
    assert!(
        [
            "No database connection available",
            "server closed the connection",
            "terminating connection",
            "no connection to the server",
            "could not receive data from server",
        ]
        .iter()
        .any(|cause| mails[0].1.contains(cause)),
        "{}",
        mails[0].1
    );
    // And the site heals without a restart, the login intact
    assert!(ready_again, "/readyz answers 200 again");
    assert_eq!(susan.get("/index").await.status(), StatusCode::OK);
}

/// nginx in front of `upstreams`, configured by `deploy/nginx-microblog.conf` itself (only the
/// addresses changed, and plain HTTP on a free port instead of TLS on 443, which would need a
/// certificate); one process (`master_process off`), so that killing it leaves no worker behind.
struct Nginx {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstreams: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let site = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/nginx-microblog.conf"
        ))
        .unwrap();
        let servers: String = upstreams
            .iter()
            .map(|address| format!("server {};\n", address.trim_start_matches("http://")))
            .collect();
        let redirect_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let site = site
            .replace("server 127.0.0.1:8000;", &servers)
            .replace("listen 80;", &format!("listen 127.0.0.1:{redirect_port};"))
            .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port};"))
            .lines()
            .filter(|line| !line.trim_start().starts_with("ssl_"))
            .collect::<Vec<_>>()
            .join("\n");
        let prefix = dir.path().display();
        let config = format!(
            "daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
             events {{ worker_connections 256; }}\nhttp {{\naccess_log off;\n\
             client_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n{site}\n}}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|path| Command::new(path).arg("-v").output().is_ok())
            .expect("nginx is installed (.ci/run installs Debian's nginx)");
        let child = Command::new(nginx)
            .args(["-p", &prefix.to_string(), "-c"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "nginx listens");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            child,
            address: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number of failures an error mail says it counts.
fn counted_by(mail: &str) -> u64 {
    let number_after = |marker: &str| {
        mail.find(marker).and_then(|at| {
            mail[at + marker.len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|digits| digits.parse().ok())
        })
    };
    number_after("this mail counts ")
        .or_else(|| number_after("This error occurred "))
        .unwrap_or(0)
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_instances_behind_nginx_share_logins_writes_and_error_mail_flood_control() {
    if !TestDatabase::on_postgres() {
        eprintln!("skipped: runs with TEST_DATABASE_URL=postgres://… (.ci/run does)");
        return;
    }
    // Arrange: two processes, one database, one SECRET_KEY, nginx in front
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path());
    let settings = [
        ("DATABASE_URL", database.url.as_str()),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMITS", "0"),
        ("ERROR_MAIL_INTERVAL", "10"),
    ];
    let first = TestProcess::start(&settings);
    let second = TestProcess::start(&settings);
    let nginx = Nginx::start(&[&first.address, &second.address]);

    // Act 1: log in on the first instance, then ask the second
    let susan = first.browser();
    susan
        .register("susan", "susan@example.com", "correct horse")
        .await;
    susan.login("susan", "correct horse").await;
    let on_second = Browser {
        client: susan.client.clone(),
        address: second.address.clone(),
    };
    let index = on_second.get_html("/index").await;

    // Act 2: 20 registrations of one name at once, through nginx
    let nginx = &nginx;
    let registrations = (0..20).map(|n| async move {
        let browser = nginx.browser();
        let response = browser
            .register("rival", &format!("rival{n}@example.com"), "correct horse")
            .await;
        response.status()
    });
    let statuses = join_all(registrations).await;

    // Act 3: 500 identical failures, through nginx, 10 at a time
    let failing = nginx.browser();
    let _ = failing.get("/lab").await;
    let token = failing.csrf_token().await;
    let form = [("csrf_token", token.as_str())];
    for _ in 0..50 {
        let batch = (0..10).map(|_| failing.post_raw("/lab/panic", &form));
        for response in join_all(batch).await {
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    let mails = || {
        let mut mails = all_files(&first.log_dir.join("mail"));
        mails.extend(all_files(&second.log_dir.join("mail")));
        mails
    };
    wait_until(Duration::from_secs(30), || {
        mails()
            .iter()
            .map(|(_, mail)| counted_by(mail))
            .sum::<u64>()
            >= 500
    })
    .await;

    // Assert: the login holds on the other instance
    assert!(index.contains("Hi, susan!"), "{index}");
    // One user by that name, and no 500 among the racing registrations
    let pool = db::connect(
        &DatabaseUrl::parse(&database.url),
        1,
        Duration::from_secs(5),
    )
    .unwrap();
    let conn: &mut db::DbConnection = &mut pool.get().unwrap();
    let rivals: i64 = users::table
        .filter(users::username.eq("rival"))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(rivals, 1);
    assert!(
        statuses.iter().all(|s| !s.is_server_error()),
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "one registration succeeded: {statuses:?}"
    );
    // Both instances served; their mails are few and count all 500 failures
    let mails = mails();
    let counted: u64 = mails.iter().map(|(_, mail)| counted_by(mail)).sum();
    assert_eq!(
        counted,
        500,
        "{:#?}",
        mails.iter().map(|(_, m)| counted_by(m)).collect::<Vec<_>>()
    );
    assert!(mails.len() <= 5, "{} mails", mails.len());
    let occurrences: Vec<i64> = error_groups::table
        .select(error_groups::occurrences)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(occurrences, vec![500]);
    assert!(
        log_count(&first.log_dir) > 0 && log_count(&second.log_dir) > 0,
        "nginx used both"
    );
}

/// How many failed requests an instance logged.
fn log_count(log_dir: &Path) -> usize {
    std::fs::read_to_string(log_dir.join("microblog.log"))
        .unwrap_or_default()
        .matches("A handler panicked")
        .count()
}
