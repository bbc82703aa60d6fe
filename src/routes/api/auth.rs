//! Who is calling the API: a bearer access token (`ApiUser`), or, to get one, HTTP Basic.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use secrecy::SecretString;
use tracing_actix_web::RootSpan;

use crate::db;
use crate::errors::{AppError, Challenge, TokenProblem};
use crate::models::{self, User};
use crate::web::request::RequestScope;
use crate::web::state::AppState;

/// The user an access token was issued to. A handler that takes it needs a valid token; a
/// missing, malformed, expired, badly signed or revoked one is a 401.
pub struct ApiUser {
    pub user: User,
}

impl ApiUser {
    pub fn is_admin(&self) -> bool {
        self.user.role == "admin"
    }

    /// Only admins go on.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::InsufficientScope)
        }
    }
}

impl FromRequest for ApiUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| {
                    AppError::unexpected(anyhow::anyhow!("AppState is not registered"))
                })?;
            let token = bearer_token(&req).ok_or(AppError::Unauthorized(Challenge::Bearer(
                TokenProblem::Missing,
            )))?;
            let claims = state
                .access_tokens
                .check(&token)
                .map_err(|problem| AppError::Unauthorized(Challenge::Bearer(problem)))?;
            let sid = claims.sid.clone();
            let user = db::run(&state.pool, move |conn| {
                models::api_session_user(conn, &sid)
            })
            .await?
            .filter(|user| user.id.to_string() == claims.sub)
            // A revoked login: its tokens are invalid from the moment it was revoked.
            .ok_or(AppError::Unauthorized(Challenge::Bearer(
                TokenProblem::Invalid,
            )))?;
            if let Some(root_span) = req.extensions().get::<RootSpan>() {
                root_span.record("user_id", user.id);
            }
            // The error report (and its mail) names the user, as the log line does.
            RequestScope::of(&req).set_user(Some(user.clone()));
            Ok(ApiUser { user })
        })
    }
}

fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = authorization(req)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|token| !token.is_empty())
}

/// The username and password of an `Authorization: Basic` header, or the 401 that asks for them.
pub fn basic_credentials(req: &HttpRequest) -> Result<(String, SecretString), AppError> {
    let refused = AppError::Unauthorized(Challenge::Basic);
    let value = authorization(req).ok_or_else(|| refused_clone(&refused))?;
    let (scheme, encoded) = value
        .split_once(' ')
        .ok_or_else(|| refused_clone(&refused))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refused);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| refused_clone(&refused))?;
    let (username, password) = decoded.split_once(':').ok_or(refused)?;
    Ok((
        username.to_string(),
        SecretString::from(password.to_string()),
    ))
}

fn refused_clone(_: &AppError) -> AppError {
    AppError::Unauthorized(Challenge::Basic)
}
