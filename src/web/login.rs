//! Who is logged in: the session cookie, the remember-me cookie, and loading the current user
//! once per request.

use actix_session::{Session, SessionExt};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{HttpMessage, HttpRequest};
use tracing_actix_web::RootSpan;

use super::request::RequestScope;
use super::state::{app_state, AppState};
use crate::db;
use crate::errors::AppError;
use crate::models::User;

const USER_ID_KEY: &str = "user_id";
/// Like Flask-Login's: a signed user id that restores the session after the browser closed.
pub const REMEMBER_COOKIE: &str = "remember_token";
const REMEMBER_SECONDS: i64 = 30 * 24 * 3600;

/// The logged-in user, if any. Restores a session from the remember-me cookie, and records
/// `last_seen` at most once a minute.
pub async fn current_user(req: &HttpRequest) -> Result<Option<User>, AppError> {
    // Kept in the request's scope, so the database is asked at most once per request.
    let scope = RequestScope::of(req);
    if let Some(user) = scope.loaded_user() {
        return Ok(user);
    }
    let state = app_state(req)?;
    let session = req.get_session();
    let session_user_id: Option<i32> = session.get(USER_ID_KEY).unwrap_or(None);
    // The remember-me cookie names the user and a fingerprint of their password hash: a new
    // password makes every old cookie worthless.
    let remembered = || {
        let cookie = req.cookie(REMEMBER_COOKIE)?;
        let payload = state.remember.verify(cookie.value())?;
        let (id, fingerprint) = payload.split_once('-')?;
        Some((id.parse::<i32>().ok()?, fingerprint.to_string()))
    };
    let (user_id, fingerprint) = match session_user_id {
        Some(id) => (Some(id), None),
        None => remembered().map_or((None, None), |(id, print)| (Some(id), Some(print))),
    };

    let user = match user_id {
        None => None,
        Some(id) => {
            db::run(&state.pool, move |conn| {
                let mut user = User::find(conn, id)?.filter(|user| {
                    fingerprint
                        .as_deref()
                        .is_none_or(|print| print == user.password_fingerprint())
                });
                if let Some(user) = user.as_mut() {
                    user.touch_last_seen(conn)?;
                }
                Ok(user)
            })
            .await?
        }
    };

    match (&user, session_user_id) {
        (Some(user), None) => log_in(&session, user.id)?,
        // The account is gone: forget the stale session.
        (None, Some(_)) => {
            session.remove(USER_ID_KEY);
        }
        _ => {}
    }
    if let (Some(user), Some(root_span)) = (&user, req.extensions().get::<RootSpan>()) {
        root_span.record("user_id", user.id);
    }
    scope.set_user(user.clone());
    Ok(user)
}

/// Starts a fresh session for `user_id`: the old session's contents (and CSRF token) are
/// dropped so that a session fixed before login is worthless after it.
pub fn log_in(session: &Session, user_id: i32) -> Result<(), AppError> {
    session.clear();
    session.renew();
    session.insert(USER_ID_KEY, user_id).map_err(|e| {
        AppError::unexpected(anyhow::anyhow!("{e}")).context("Failed to store the session")
    })
}

/// Ends the login: the session is emptied and gets a new key (it lives on only to carry the
/// "You have been logged out." message).
pub fn log_out(session: &Session) {
    session.clear();
    session.renew();
}

/// The remember-me cookie for `user`.
pub fn remember_cookie(state: &AppState, user: &User) -> Cookie<'static> {
    let payload = format!("{}-{}", user.id, user.password_fingerprint());
    Cookie::build(
        REMEMBER_COOKIE,
        state.remember.sign(&payload, REMEMBER_SECONDS),
    )
    .path("/")
    .http_only(true)
    .same_site(SameSite::Lax)
    .secure(state.settings.session_cookie_secure)
    .max_age(CookieDuration::seconds(REMEMBER_SECONDS))
    .finish()
}

/// A cookie that deletes the remember-me cookie.
pub fn forget_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(REMEMBER_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}
