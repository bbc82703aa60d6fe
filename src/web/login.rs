//! Who is logged in: the session cookie, the remember-me cookie, and loading the current user
//! once per request.

use actix_session::{Session, SessionExt};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{HttpMessage, HttpRequest};
use chrono::{TimeDelta, Utc};
use tracing_actix_web::RootSpan;

use super::request::RequestScope;
use super::state::{app_state, AppState};
use crate::db::{self, DbConnection};
use crate::errors::AppError;
use crate::models::{self, User};
use crate::tokens::random_hex;

/// The session's key for the login token (the `sessions` row it names is the login).
const LOGIN_KEY: &str = "login";
/// Like Flask-Login's, it restores the login after the browser closed; unlike Flask-Login's
/// signed user id, it is a random token the server keeps (hashed) and can end.
pub const REMEMBER_COOKIE: &str = "remember_token";
const REMEMBER_SECONDS: i64 = 30 * 24 * 3600;

/// The logged-in user, if any: the login named by the session must still exist on the server
/// and be within its idle and absolute limits. Restores a login from the remember-me cookie,
/// and records `last_seen` at most once a minute.
pub async fn current_user(req: &HttpRequest) -> Result<Option<User>, AppError> {
    type NoQuery = fn(&mut DbConnection, Option<&User>) -> Result<(), AppError>;
    let (user, _) = look_up(req, None::<NoQuery>).await?;
    Ok(user)
}

/// [`current_user`], and `query` run for that user with the same connection in the same trip
/// to the blocking pool. Each trip is a hand-off to another thread and back, paid in the
/// scheduler on both sides. `query` runs a second time only when the session's login has ended
/// and the remember-me cookie restores one.
pub async fn current_user_and<T, F>(
    req: &HttpRequest,
    query: F,
) -> Result<(Option<User>, T), AppError>
where
    F: FnOnce(&mut DbConnection, Option<&User>) -> Result<T, AppError> + Clone + Send + 'static,
    T: Send + 'static,
{
    let (user, value) = look_up(req, Some(query)).await?;
    match value {
        Some(value) => Ok((user, value)),
        None => Err(AppError::unexpected(anyhow::anyhow!(
            "The page's query did not run"
        ))),
    }
}

async fn look_up<T, F>(
    req: &HttpRequest,
    query: Option<F>,
) -> Result<(Option<User>, Option<T>), AppError>
where
    F: FnOnce(&mut DbConnection, Option<&User>) -> Result<T, AppError> + Clone + Send + 'static,
    T: Send + 'static,
{
    let state = app_state(req)?;
    // Kept in the request's scope, so the database is asked at most once per request.
    let scope = RequestScope::of(req);
    if let Some(user) = scope.loaded_user() {
        let value = run_for(state, query, user.clone()).await?;
        return Ok((user, value));
    }
    let session = req.get_session();
    let token: Option<String> = session.get(LOGIN_KEY).unwrap_or(None);
    let mut found = None;
    if let Some(token) = token {
        let limits = state.settings.session_limits();
        let now = Utc::now().naive_utc();
        let query = query.clone();
        let (user, value) = db::run(&state.pool, move |conn| {
            let Some(mut user) = models::session_user(conn, &token, now, limits)? else {
                return Ok((None, None));
            };
            user.touch_last_seen(conn)?;
            let value = match query {
                Some(query) => Some(query(conn, Some(&user))?),
                None => None,
            };
            Ok((Some(user), value))
        })
        .await?;
        match user {
            Some(user) => found = Some((Some(user), value)),
            // The login was ended (logout, new password, expiry): forget it.
            None => {
                session.remove(LOGIN_KEY);
            }
        }
    }
    let (user, value) = match found {
        Some(found) => found,
        None => {
            let user = remembered_user(req, state).await?;
            if let Some(user) = &user {
                log_in(state, &session, user.id).await?;
            }
            let value = run_for(state, query, user.clone()).await?;
            (user, value)
        }
    };
    if let (Some(user), Some(root_span)) = (&user, req.extensions().get::<RootSpan>()) {
        root_span.record("user_id", user.id);
    }
    scope.set_user(user.clone());
    Ok((user, value))
}

/// Runs a page's `query` for `user` in a trip of its own.
async fn run_for<T, F>(
    state: &AppState,
    query: Option<F>,
    user: Option<User>,
) -> Result<Option<T>, AppError>
where
    F: FnOnce(&mut DbConnection, Option<&User>) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    match query {
        Some(query) => db::run(&state.pool, move |conn| query(conn, user.as_ref()))
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// The user logged in under `session`, looked up without recording any activity: for a report
/// about a request whose handler failed before it asked (a panic in a route that takes no
/// `Page`), so the report names who it was.
pub async fn user_of_session(
    state: &AppState,
    session: &Session,
) -> Result<Option<User>, AppError> {
    let Some(token) = session.get::<String>(LOGIN_KEY).ok().flatten() else {
        return Ok(None);
    };
    let (now, limits) = (Utc::now().naive_utc(), state.settings.session_limits());
    db::run(&state.pool, move |conn| {
        models::session_user(conn, &token, now, limits)
    })
    .await
}

/// The user a remember-me cookie names, if the server still remembers that browser: logout
/// and a new password end it, so a copied cookie is worthless from then on.
async fn remembered_user(req: &HttpRequest, state: &AppState) -> Result<Option<User>, AppError> {
    let Some(token) = remember_token(req) else {
        return Ok(None);
    };
    let now = Utc::now().naive_utc();
    db::run(&state.pool, move |conn| {
        let mut user = models::remembered_user(conn, &token, now)?;
        if let Some(user) = user.as_mut() {
            user.touch_last_seen(conn)?;
        }
        Ok(user)
    })
    .await
}

/// The remember-me cookie's token, if it looks like one of ours (the cookie is a client's to
/// write: anything else never reaches the database).
fn remember_token(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(REMEMBER_COOKIE)?;
    let token = cookie.value();
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())).then(|| token.to_string())
}

/// Starts a login for `user_id`: a new `sessions` row, and a fresh session that names it. The
/// old session's contents (and CSRF token) are dropped, so a session fixed before login is
/// worthless after it.
pub async fn log_in(state: &AppState, session: &Session, user_id: i32) -> Result<(), AppError> {
    let token = random_hex(32);
    let (now, limits) = (Utc::now().naive_utc(), state.settings.session_limits());
    let row_token = token.clone();
    db::run(&state.pool, move |conn| {
        models::create_session(conn, user_id, &row_token, now, limits)
    })
    .await?;
    session.clear();
    session.renew();
    session.insert(LOGIN_KEY, token).map_err(|e| {
        AppError::unexpected(anyhow::anyhow!("{e}")).context("Failed to store the session")
    })
}

/// Ends the login on the server (a copy of the cookie is worthless from now on), forgets this
/// browser if it was remembered, and empties the session, which gets a new key (it lives on
/// only to carry "You have been logged out.").
pub async fn log_out(
    state: &AppState,
    session: &Session,
    req: &HttpRequest,
) -> Result<(), AppError> {
    let login: Option<String> = session.get(LOGIN_KEY).ok().flatten();
    let remembered = remember_token(req);
    if login.is_some() || remembered.is_some() {
        db::run(&state.pool, move |conn| {
            if let Some(token) = login {
                models::end_session(conn, &token)?;
            }
            if let Some(token) = remembered {
                models::forget_browser(conn, &token)?;
            }
            Ok(())
        })
        .await?;
    }
    session.clear();
    session.renew();
    Ok(())
}

/// Remembers this browser for `user_id` on the server, and the cookie that names it.
pub async fn remember_browser(state: &AppState, user_id: i32) -> Result<Cookie<'static>, AppError> {
    let token = random_hex(32);
    let row_token = token.clone();
    let now = Utc::now().naive_utc();
    db::run(&state.pool, move |conn| {
        models::remember_browser(
            conn,
            user_id,
            &row_token,
            now,
            TimeDelta::seconds(REMEMBER_SECONDS),
        )
    })
    .await?;
    Ok(Cookie::build(REMEMBER_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.session_cookie_secure)
        .max_age(CookieDuration::seconds(REMEMBER_SECONDS))
        .finish())
}

/// A cookie that deletes the remember-me cookie.
pub fn forget_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(REMEMBER_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}
