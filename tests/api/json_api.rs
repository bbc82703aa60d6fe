//! The JSON API: tokens, users and posts, and every way a call can fail, answered as an RFC 9457
//! problem document with the request id.

use std::time::Duration;

use actix_web::web;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{request_id, spawn_app_with, spawn_app_with_routes, TestApp};
use crate::process::wait_for_outbox;

/// An API client: no cookies, JSON in and out.
struct Api<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

impl<'a> Api<'a> {
    fn new(app: &'a TestApp) -> Self {
        Api {
            app,
            client: reqwest::Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.app.address));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let request = self.request(method, path, token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn register(&self, username: &str) -> Value {
        let response = self
            .send(Method::POST, "/api/users", None, Some(json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"})))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registering {username}"
        );
        response.json().await.unwrap()
    }

    /// `POST /api/tokens` with these credentials, as it is answered.
    async fn token_request(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/tokens", self.app.address))
            .basic_auth(username, Some(password))
            .send()
            .await
            .unwrap()
    }

    async fn tokens(&self, username: &str) -> Value {
        let response = self.token_request(username, "correct horse").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn access_token(&self, username: &str) -> String {
        self.tokens(username).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Checks a problem document: its status, its type, the request id, and returns it.
async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let id = request_id(&response);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status.as_u16());
    assert_eq!(problem["request_id"], id.as_str());
    problem
}

fn www_authenticate(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn api_app(overrides: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("RATE_LIMITS", "0")];
    vars.extend_from_slice(overrides);
    spawn_app_with(&vars).await
}

#[tokio::test]
async fn a_token_pair_opens_the_api_and_collections_carry_meta_and_links() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    let susan = api.register("susan").await;
    for name in ["ann", "bob"] {
        api.register(name).await;
    }
    let tokens = api.tokens("susan").await;
    let token = tokens["access_token"].as_str().unwrap();

    // Act
    let page = api
        .send(Method::GET, "/api/users?per_page=2", Some(token), None)
        .await;
    let post = api
        .send(
            Method::POST,
            "/api/posts",
            Some(token),
            Some(json!({"body": "Hello API"})),
        )
        .await;
    let follow = api
        .send(Method::POST, "/api/users/2/follow", Some(token), None)
        .await;
    let following = api
        .send(
            Method::GET,
            &format!("/api/users/{}/following", susan["id"]),
            Some(token),
            None,
        )
        .await;

    // Assert
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["_meta"], json!({"page": 1, "per_page": 2, "next": 2}));
    assert_eq!(page["_links"]["next"], "/api/users?page=2&per_page=2");
    assert_eq!(page["_links"]["prev"], Value::Null);
    assert_eq!(post.status(), StatusCode::CREATED);
    let post: Value = post.json().await.unwrap();
    assert_eq!(post["body"], "Hello API");
    assert_eq!(follow.status(), StatusCode::NO_CONTENT);
    let following: Value = following.json().await.unwrap();
    assert_eq!(following["items"][0]["username"], "ann");
}

#[tokio::test]
async fn every_bad_access_token_is_a_401_with_www_authenticate() {
    // Arrange
    let app = api_app(&[]).await;
    let other = api_app(&[("SECRET_KEY", "a-different-secret-key-0123456789abcdef")]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    let valid = api.access_token("susan").await;
    Api::new(&other).register("susan").await;
    let foreign = Api::new(&other).access_token("susan").await;
    let parts: Vec<&str> = valid.split('.').collect();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    let rs256 = format!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
        parts[1], parts[2]
    );

    // Act and assert
    let missing = api.send(Method::GET, "/api/users", None, None).await;
    assert_eq!(www_authenticate(&missing), r#"Bearer realm="microblog""#);
    problem(missing, StatusCode::UNAUTHORIZED).await;
    for (what, token) in [
        ("malformed", "not-a-jwt"),
        ("badly signed", foreign.as_str()),
        ("alg none", alg_none.as_str()),
        ("RS256", rs256.as_str()),
    ] {
        let response = api.send(Method::GET, "/api/users", Some(token), None).await;
        assert!(
            www_authenticate(&response).contains(r#"error="invalid_token""#),
            "{what}"
        );
        let problem = problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(problem["detail"], "The access token is invalid.", "{what}");
    }
    assert_eq!(
        api.send(Method::GET, "/api/users", Some(&valid), None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_expired_access_token_says_expired_and_a_refresh_token_works_once() {
    // Arrange
    let app = api_app(&[("ACCESS_TOKEN_SECONDS", "1")]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    let tokens = api.tokens("susan").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // Act
    let expired = api
        .send(
            Method::GET,
            "/api/users",
            tokens["access_token"].as_str(),
            None,
        )
        .await;
    let refreshed = api
        .send(
            Method::POST,
            "/api/tokens/refresh",
            None,
            Some(json!({"refresh_token": tokens["refresh_token"]})),
        )
        .await;
    let replayed = api
        .send(
            Method::POST,
            "/api/tokens/refresh",
            None,
            Some(json!({"refresh_token": tokens["refresh_token"]})),
        )
        .await;

    // Assert
    assert!(www_authenticate(&expired).contains(r#"error_description="The access token expired.""#));
    let body = problem(expired, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["detail"], "The access token expired.");
    assert_eq!(refreshed.status(), StatusCode::OK);
    let fresh: Value = refreshed.json().await.unwrap();
    assert_ne!(fresh["refresh_token"], tokens["refresh_token"], "rotated");
    problem(replayed, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn revoking_ends_one_login_or_all_of_them_and_their_access_tokens() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    let first = api.tokens("susan").await;
    let second = api.tokens("susan").await;
    let third = api.tokens("susan").await;
    let (first_access, second_access) = (
        first["access_token"].as_str(),
        second["access_token"].as_str(),
    );

    // Act: revoke the first login only, then all
    let one = api
        .send(
            Method::DELETE,
            "/api/tokens",
            second_access,
            Some(json!({"refresh_token": first["refresh_token"]})),
        )
        .await;
    let first_after = api
        .send(Method::GET, "/api/users", first_access, None)
        .await;
    let second_after = api
        .send(Method::GET, "/api/users", second_access, None)
        .await;
    let all = api
        .send(Method::DELETE, "/api/tokens", second_access, None)
        .await;
    let third_after = api
        .send(
            Method::GET,
            "/api/users",
            third["access_token"].as_str(),
            None,
        )
        .await;

    // Assert
    assert_eq!(one.status(), StatusCode::NO_CONTENT);
    problem(first_after, StatusCode::UNAUTHORIZED).await;
    assert_eq!(second_after.status(), StatusCode::OK);
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    problem(third_after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn wrong_credentials_for_a_token_are_a_401_asking_for_basic() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    api.register("susan").await;

    // Act
    let response = api.token_request("susan", "wrong password").await;

    // Assert
    assert!(www_authenticate(&response).starts_with("Basic"));
    problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn roles_and_ownership_are_403s_and_an_admin_granted_by_the_cli_gets_in() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    api.register("john").await;
    let susan = api.access_token("susan").await;
    let john = api.access_token("john").await;
    let post: Value = api
        .send(
            Method::POST,
            "/api/posts",
            Some(&john),
            Some(json!({"body": "mine"})),
        )
        .await
        .json()
        .await
        .unwrap();

    // Act
    let admin_only = api
        .send(Method::GET, "/api/admin/users", Some(&susan), None)
        .await;
    let not_yours = api
        .send(
            Method::PUT,
            "/api/users/2",
            Some(&susan),
            Some(json!({"about_me": "hacked"})),
        )
        .await;
    let not_your_post = api
        .send(
            Method::DELETE,
            &format!("/api/posts/{}", post["id"]),
            Some(&susan),
            None,
        )
        .await;
    let granted = std::process::Command::new(env!("CARGO_BIN_EXE_microblog"))
        .arg("admin")
        .arg("susan")
        .env_clear()
        .env("DATABASE_URL", app.settings.database_url.expose())
        .env("LOG_DIR", &app.log_dir)
        .env(
            "SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let as_admin = api.access_token("susan").await;
    let admin_list = api
        .send(Method::GET, "/api/admin/users", Some(&as_admin), None)
        .await;
    let admin_delete = api
        .send(
            Method::DELETE,
            &format!("/api/posts/{}", post["id"]),
            Some(&as_admin),
            None,
        )
        .await;

    // Assert
    assert!(www_authenticate(&admin_only).contains(r#"error="insufficient_scope""#));
    problem(admin_only, StatusCode::FORBIDDEN).await;
    problem(not_yours, StatusCode::FORBIDDEN).await;
    problem(not_your_post, StatusCode::FORBIDDEN).await;
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert_eq!(admin_list.status(), StatusCode::OK);
    let listed: Value = admin_list.json().await.unwrap();
    assert_eq!(listed["items"][1]["email"], "john@example.com");
    assert_eq!(admin_delete.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn unknown_ids_routes_methods_and_media_types_are_problems() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    let token = api.access_token("susan").await;

    // Act and assert
    problem(
        api.send(Method::GET, "/api/users/999", Some(&token), None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        api.send(Method::GET, "/api/no/such/thing", Some(&token), None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let wrong_method = api
        .send(Method::PATCH, "/api/posts/1", Some(&token), None)
        .await;
    assert_eq!(wrong_method.headers()["allow"], "GET, DELETE");
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
    let not_json = api
        .request(Method::POST, "/api/posts", Some(&token))
        .body("body=hi")
        .header("Content-Type", "text/plain")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let malformed = api
        .request(Method::POST, "/api/posts", Some(&token))
        .header("Content-Type", "application/json")
        .body("{\n  \"body\": \"hi")
        .send()
        .await
        .unwrap();
    let body = problem(malformed, StatusCode::BAD_REQUEST).await;
    assert!(
        body["detail"].as_str().unwrap().contains("line 2 column"),
        "{body}"
    );
    let huge = json!({"body": "x".repeat(100 * 1024)});
    problem(
        api.send(Method::POST, "/api/posts", Some(&token), Some(huge))
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
}

#[tokio::test]
async fn registration_follows_the_forms_rules_with_an_error_per_field() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);
    api.register("susan").await;

    // Act
    let taken = api.send(Method::POST, "/api/users", None, Some(json!({"username": "SUSAN", "email": "other@example.com", "password": "correct horse"}))).await;
    let broken = api
        .send(
            Method::POST,
            "/api/users",
            None,
            Some(json!({"username": "a b", "email": "not an email", "password": "short"})),
        )
        .await;

    // Assert
    let taken = problem(taken, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        taken["errors"]["username"][0],
        "Please use a different username."
    );
    let broken = problem(broken, StatusCode::UNPROCESSABLE_ENTITY).await;
    for field in ["username", "email", "password"] {
        assert!(broken["errors"][field].is_array(), "{field}: {broken}");
    }
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_name_make_one_user_and_no_500() {
    // Arrange
    let app = api_app(&[]).await;
    let api = Api::new(&app);

    // Act
    let attempts = (0..20).map(|n| {
        api.send(Method::POST, "/api/users", None, Some(json!({"username": "racer", "email": format!("racer{n}@example.com"), "password": "correct horse"})))
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();

    // Assert
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [
            StatusCode::CREATED,
            StatusCode::CONFLICT,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
        .contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_rate_limited_token_request_is_a_429_problem_with_retry_after() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_CLIENT", "1")]).await;
    let api = Api::new(&app);
    api.register("susan").await;
    api.tokens("susan").await;

    // Act
    let limited = api.token_request("susan", "correct horse").await;

    // Assert
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
}

/// A fork's API route that fails.
fn failing_api_route(config: &mut web::ServiceConfig) {
    config.route("/api/fork/boom", web::get().to(boom));
}

async fn boom() -> &'static str {
    panic!("an API handler fell over at a secret place")
}

#[tokio::test]
async fn a_500_is_a_problem_without_internals_and_its_mail_never_shows_the_token() {
    // Arrange
    let app = spawn_app_with_routes(&[("RATE_LIMITS", "0")], failing_api_route).await;
    let api = Api::new(&app);
    api.register("susan").await;
    let token = api.access_token("susan").await;

    // Act
    let response = api
        .send(Method::GET, "/api/fork/boom", Some(&token), None)
        .await;

    // Assert
    let id = request_id(&response);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("secret place") && text.contains(&id),
        "{text}"
    );
    let mails = wait_for_outbox(&app.log_dir).await;
    let (_, mail) = mails.first().expect("the error mail");
    assert!(mail.contains(&format!("Error id: {id}")));
    assert!(
        !mail.contains(&token) && !mail.contains(&token[..40]),
        "the token is redacted"
    );
}

#[tokio::test]
async fn tokens_signed_under_a_fallback_key_still_work_while_keys_rotate() {
    // Arrange: the same database, a new SECRET_KEY, the old one as a fallback
    let old = api_app(&[]).await;
    let api = Api::new(&old);
    api.register("susan").await;
    let token = api.access_token("susan").await;
    let database = old.settings.database_url.expose().to_string();
    let rotated = api_app(&[
        ("DATABASE_URL", &database),
        ("SECRET_KEY", "the-new-secret-key-0123456789abcdefghij"),
        (
            "SECRET_KEY_FALLBACKS",
            "test-secret-key-that-is-long-enough-0123456789",
        ),
    ])
    .await;
    let without = api_app(&[
        ("DATABASE_URL", &database),
        ("SECRET_KEY", "the-new-secret-key-0123456789abcdefghij"),
    ])
    .await;

    // Act
    let accepted = Api::new(&rotated)
        .send(Method::GET, "/api/users", Some(&token), None)
        .await;
    let refused = Api::new(&without)
        .send(Method::GET, "/api/users", Some(&token), None)
        .await;

    // Assert
    assert_eq!(accepted.status(), StatusCode::OK);
    problem(refused, StatusCode::UNAUTHORIZED).await;
}
