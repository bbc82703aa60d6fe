//! The error inbox: failures grouped by place in the database, the admin pages and their
//! actions, regressions and muting in the mails, retention, and the JSON API.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use microblog::db::schema::error_groups;
use microblog::models::User;
use reqwest::StatusCode;
use serde_json::Value;

use crate::failing_routes::spawn_failing_app;
use crate::helpers::{location, Browser, TestApp};

/// Each group's (fingerprint, occurrences, status), once the groups count `total` occurrences.
pub(crate) async fn groups_counting(
    app: &TestApp,
    total: i64,
) -> Vec<(String, String, i64, String)> {
    let start = Instant::now();
    loop {
        let groups: Vec<(String, String, i64, String)> = app.query(|conn| {
            error_groups::table
                .select((
                    error_groups::id,
                    error_groups::fingerprint,
                    error_groups::occurrences,
                    error_groups::status,
                ))
                .order(error_groups::fingerprint)
                .load(conn)
                .unwrap()
        });
        let counted: i64 = groups.iter().map(|group| group.2).sum();
        if counted >= total || start.elapsed() > Duration::from_secs(10) {
            return groups;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `count` occurrences are kept (the latest reports are written once a second).
async fn occurrences_kept(app: &TestApp, count: i64) {
    let start = Instant::now();
    while app.query(|conn| {
        microblog::db::schema::error_occurrences::table
            .count()
            .get_result::<i64>(conn)
            .unwrap()
    }) < count
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{count} occurrences kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A logged-in admin, granted the role as `microblog admin NAME` grants it.
pub(crate) async fn admin(app: &TestApp, username: &str) -> Browser {
    let browser = app.logged_in(username).await;
    app.query(|conn| User::set_role(conn, username, "admin").unwrap());
    browser
}

#[tokio::test]
async fn two_messages_from_one_place_make_one_group_and_two_places_make_two() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let susan = app.logged_in("susan").await;

    // Act
    for path in ["/test/missing/17", "/test/missing/18", "/test/error"] {
        let response = susan.post(path, &[]).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let groups = groups_counting(&app, 3).await;

    // Assert
    assert_eq!(groups.len(), 2, "{groups:?}");
    let counts: Vec<i64> = groups.iter().map(|group| group.2).collect();
    assert!(counts.contains(&2) && counts.contains(&1), "{groups:?}");
    for (_, fingerprint, ..) in &groups {
        assert!(
            fingerprint.starts_with("error at tests/api/failing_routes.rs:"),
            "{fingerprint}"
        );
    }
}

#[tokio::test]
async fn an_admin_sees_each_failure_once_with_its_count_users_and_occurrences() {
    // Arrange
    let app = spawn_failing_app(&[("ERROR_LAB", "1")]).await;
    let root = admin(&app, "root").await;
    let susan = app.logged_in("susan").await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for path in ["/test/missing/1", "/test/missing/2"] {
            ids.push(crate::helpers::request_id(&susan.post(path, &[]).await));
        }
        root.post("/test/missing/3", &[]).await;
        ids
    };
    let groups = groups_counting(&app, 3).await;
    occurrences_kept(&app, 3).await;
    let id = &groups[0].0;

    // Act
    let inbox = root.get_html("/admin/errors").await;
    let page = root.get_html(&format!("/admin/errors/{id}")).await;
    let resolved_filter = root.get_html("/admin/errors?status=resolved").await;
    let searched = root.get_html("/admin/errors?q=NO+USER").await;
    let nothing_found = root.get_html("/admin/errors?q=disk+on+fire").await;

    // Assert
    assert!(inbox.contains("Errors (1 unresolved)"), "{inbox}");
    assert!(inbox.contains("no user 3"), "the latest title: {inbox}");
    assert!(inbox.contains("<strong>3</strong> occurrences"), "{inbox}");
    assert!(inbox.contains("2 users"), "{inbox}");
    assert!(inbox.contains("<svg class=\"chart\""), "{inbox}");
    for request_id in &ids {
        assert!(
            page.contains(request_id.as_str()),
            "{request_id} on the group's page"
        );
        assert!(page.contains(&format!("/lab/logs?request_id={request_id}")));
    }
    assert!(page.contains("User:     susan (id 2)"), "{page}");
    assert!(resolved_filter.contains("No errors match."));
    assert!(searched.contains(&format!("/admin/errors/{id}")));
    assert!(nothing_found.contains("No errors match."));
}

#[tokio::test]
async fn only_admins_see_the_inbox_and_every_action_needs_its_csrf_token() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let susan = app.logged_in("susan").await;
    susan.post("/test/error", &[]).await;
    let id = groups_counting(&app, 1).await[0].0.clone();
    let root = admin(&app, "root").await;

    // Act
    let anonymous = app.browser().get("/admin/errors").await;
    let user = susan.get("/admin/errors").await;
    let user_action = susan
        .post(&format!("/admin/errors/{id}/resolve"), &[])
        .await;
    let without_token = root
        .post_raw(&format!("/admin/errors/{id}/resolve"), &[])
        .await;
    let unknown = root.get("/admin/errors/0123456789abcdef").await;
    let not_an_id = root.get("/admin/errors/..%2F..%2Fetc").await;
    let bad_status = root.get("/admin/errors?status=deleted").await;
    let user_nav = susan.get_html("/index").await;

    // Assert
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(location(&anonymous).starts_with("/auth/login?next=%2Fadmin%2Ferrors"));
    assert_eq!(user.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_action.status(), StatusCode::FORBIDDEN);
    assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(groups_counting(&app, 1).await[0].3, "unresolved");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_an_id.status(), StatusCode::NOT_FOUND);
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
    assert!(!user_nav.contains("/admin/errors"), "no link for a user");
}

#[tokio::test]
async fn groups_resolved_longer_ago_than_the_retention_are_deleted() {
    // Arrange
    let app = spawn_failing_app(&[("ERROR_RETENTION_DAYS", "0")]).await;
    let root = admin(&app, "root").await;
    root.post("/test/error", &[]).await;
    root.post("/test/missing/1", &[]).await;
    let groups = groups_counting(&app, 2).await;

    // Act
    root.post(&format!("/admin/errors/{}/resolve", groups[0].0), &[])
        .await;
    let start = Instant::now();
    let mut left = groups.len();
    while left > 1 && start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = groups_counting(&app, 0).await.len();
    }

    // Assert
    assert_eq!(
        left, 1,
        "the resolved group is gone, the unresolved one kept"
    );
    let kept = groups_counting(&app, 0).await;
    assert_eq!(kept[0].0, groups[1].0);
    let gone = root.get(&format!("/admin/errors/{}", groups[0].0)).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_json_inbox_answers_admin_tokens_only() {
    // Arrange
    let app = spawn_failing_app(&[]).await;
    let susan = app.logged_in("susan").await;
    susan.post("/test/missing/5", &[]).await;
    let id = groups_counting(&app, 1).await[0].0.clone();
    occurrences_kept(&app, 1).await;
    let user_token = app.api_tokens("susan").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    admin(&app, "root").await;
    let admin_token = app.api_tokens("root").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    let get = |path: String, token: String| {
        let request = client
            .get(format!("{}{path}", app.address))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };

    // Act
    let as_user = get("/api/admin/errors".into(), user_token).await;
    let list = get(
        "/api/admin/errors?status=unresolved".into(),
        admin_token.clone(),
    )
    .await;
    let one = get(format!("/api/admin/errors/{id}"), admin_token.clone()).await;
    let bad = get("/api/admin/errors?status=gone".into(), admin_token).await;

    // Assert
    assert_eq!(as_user.status(), StatusCode::FORBIDDEN);
    assert_eq!(list.status(), StatusCode::OK);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["occurrences"], 1);
    assert_eq!(list["items"][0]["last_24_hours"][23], 1);
    let one: Value = one.json().await.unwrap();
    assert_eq!(one["latest"][0]["chain"][1], "no user 5");
    assert_eq!(one["latest"][0]["user_id"], 1);
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_flood_of_panics_is_one_group_that_counts_them_all_and_keeps_twenty() {
    // Arrange
    const CLIENTS: usize = 10;
    const EACH: usize = 1_000;
    let app = spawn_failing_app(&[]).await;
    let browser = app.browser();
    let token = browser.csrf_token().await;

    // Act
    let mut handles = Vec::new();
    for _ in 0..CLIENTS {
        let client = browser.client.clone();
        let url = format!("{}/test/panic", app.address);
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..EACH {
                let response = client
                    .post(&url)
                    .form(&[("csrf_token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let groups = groups_counting(&app, (CLIENTS * EACH) as i64).await;
    occurrences_kept(&app, 20).await;
    let kept: i64 = app.query(|conn| {
        microblog::db::schema::error_occurrences::table
            .count()
            .get_result(conn)
            .unwrap()
    });

    // Assert
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].2, (CLIENTS * EACH) as i64);
    assert!(groups[0]
        .1
        .starts_with("panic at tests/api/failing_routes.rs:"));
    assert_eq!(kept, 20);
}

#[tokio::test]
async fn with_debug_on_the_500_page_links_to_its_group() {
    // Arrange
    let app = spawn_failing_app(&[("DEBUG", "1")]).await;
    let susan = app.logged_in("susan").await;

    // Act
    let page = susan
        .post("/test/missing/9", &[])
        .await
        .text()
        .await
        .unwrap();
    let groups = groups_counting(&app, 1).await;

    // Assert
    assert!(
        page.contains(&format!("href=\"/admin/errors/{}\"", groups[0].0)),
        "{page}"
    );
}
