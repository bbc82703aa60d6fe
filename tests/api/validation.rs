//! The unique index as the last guard: requests that race past the form's check still get the
//! form error, never a 500.

use diesel::prelude::*;
use microblog::db::schema::users;
use reqwest::StatusCode;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_name_make_one_user_and_nineteen_form_errors() {
    // Arrange
    // Bulk traffic from one address: without RATE_LIMITS=0 the registration limit answers first.
    let app = spawn_app_with(&[("RATE_LIMITS", "0")]).await;
    let browsers: Vec<_> = (0..20).map(|_| app.browser()).collect();
    let mut tokens = Vec::new();
    for browser in &browsers {
        tokens.push(browser.csrf_token().await);
    }

    // Act
    let attempts = browsers
        .iter()
        .zip(&tokens)
        .enumerate()
        .map(|(n, (browser, token))| {
            let email = format!("racer{n}@example.com");
            async move {
                browser
                    .post_raw(
                        "/auth/register",
                        &[
                            ("username", "racer"),
                            ("email", &email),
                            ("password", "correct horse"),
                            ("password2", "correct horse"),
                            ("csrf_token", token),
                        ],
                    )
                    .await
            }
        });
    let responses = futures_util::future::join_all(attempts).await;

    // Assert
    let mut created = 0;
    let mut form_errors = 0;
    for response in responses {
        match response.status() {
            StatusCode::SEE_OTHER => created += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert!(response
                    .text()
                    .await
                    .unwrap()
                    .contains("Please use a different username."));
                form_errors += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, form_errors), (1, 19));
    let users: i64 = app.query(|conn| users::table.count().get_result(conn).unwrap());
    assert_eq!(users, 1);
}
