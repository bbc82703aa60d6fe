//! Who is logged in: the session cookie, the remember-me cookie, and loading the current user
//! once per request.

use actix_session::{Session, SessionExt};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpMessage, HttpRequest};
use tracing_actix_web::RootSpan;

use crate::db;
use crate::errors::AppError;
use crate::models::User;
use crate::startup::AppState;

const USER_ID_KEY: &str = "user_id";
/// Like Flask-Login's: a signed user id that restores the session after the browser closed.
pub const REMEMBER_COOKIE: &str = "remember_token";
const REMEMBER_SECONDS: i64 = 30 * 24 * 3600;

/// The user loaded for this request, kept in the request's extensions so that the database is
/// asked at most once per request.
#[derive(Clone)]
struct LoadedUser(Option<User>);

/// The logged-in user, if any. Restores a session from the remember-me cookie, and records
/// `last_seen` at most once a minute.
pub async fn current_user(req: &HttpRequest) -> Result<Option<User>, AppError> {
    if let Some(LoadedUser(user)) = req.extensions().get::<LoadedUser>() {
        return Ok(user.clone());
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
    req.extensions_mut().insert(LoadedUser(user.clone()));
    Ok(user)
}

/// The user loaded earlier in this request, without asking the database (for error pages).
pub fn already_loaded_user(req: &HttpRequest) -> Option<User> {
    req.extensions()
        .get::<LoadedUser>()
        .and_then(|LoadedUser(user)| user.clone())
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

/// The shared application state registered in `startup.rs`.
pub fn app_state(req: &HttpRequest) -> Result<&AppState, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("AppState is not registered")))
}
