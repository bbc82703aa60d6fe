//! `/api/tokens`: a token pair for a username and password, a new pair for a refresh token (the
//! old one stops working), and revoking them.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::auth::{basic_credentials, ApiUser};
use super::representations::{Failures, RefreshIn, TokensOut, SEND_JSON};
use crate::db;
use crate::errors::{AppError, Challenge, TokenProblem};
use crate::models::{self, User};
use crate::tokens::random_hex;
use crate::web::client::client_ip;
use crate::web::state::AppState;

/// A new API login for `user`: its id, and the first token pair.
async fn new_login(state: &AppState, user: &User) -> Result<TokensOut, AppError> {
    let (sid, refresh) = (random_hex(16), random_hex(32));
    let (user_id, row_sid, row_refresh) = (user.id, sid.clone(), refresh.clone());
    let now = Utc::now().naive_utc();
    db::run(&state.pool, move |conn| {
        models::create_api_session(conn, &row_sid, user_id, &row_refresh, now)
    })
    .await?;
    pair(state, user, &sid, refresh)
}

fn pair(state: &AppState, user: &User, sid: &str, refresh: String) -> Result<TokensOut, AppError> {
    Ok(TokensOut {
        access_token: state.access_tokens.issue(user.id, &user.role, sid)?,
        refresh_token: refresh,
        token_type: "Bearer".to_string(),
        expires_in: state.access_tokens.lifetime,
    })
}

/// Get a token pair with HTTP Basic (username and password).
#[utoipa::path(post, path = "/api/tokens", tag = "tokens",
    security(("basic" = [])),
    responses((status = 200, body = TokensOut), Failures))]
#[tracing::instrument(name = "API: new tokens", skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (username, password) = basic_credentials(&req)?;
    let client = client_ip(&req, &state.settings.trusted_proxies);
    state.rate_limits.login(client, &username)?;
    let found = db::run(&state.pool, move |conn| {
        User::find_by_username(conn, &username)
    })
    .await?;
    let stored = found.as_ref().map(|user| user.password_hash.clone());
    let matches = state.hashers.verify(stored, password).await?;
    let Some(user) = found.filter(|_| matches) else {
        tracing::info!("API login refused: invalid username or password");
        return Err(AppError::Unauthorized(Challenge::Basic));
    };
    let tokens = new_login(&state, &user).await?;
    tracing::info!(user_id = user.id, "API login");
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchange a refresh token for a new pair; the old refresh token stops working.
#[utoipa::path(post, path = "/api/tokens/refresh", tag = "tokens",
    request_body = RefreshIn,
    responses((status = 200, body = TokensOut), Failures))]
#[tracing::instrument(name = "API: refresh tokens", skip_all)]
pub async fn refresh(
    body: web::Json<RefreshIn>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let old = body.into_inner().refresh_token;
    let new = random_hex(32);
    let (row_new, now) = (new.clone(), Utc::now().naive_utc());
    let found = db::run(&state.pool, move |conn| {
        models::rotate_refresh_token(conn, &old, &row_new, now)
    })
    .await?;
    let Some((sid, user)) = found else {
        return Err(AppError::Unauthorized(Challenge::Bearer(
            TokenProblem::Invalid,
        )));
    };
    Ok(HttpResponse::Ok().json(pair(&state, &user, &sid, new)?))
}

/// The refresh token of an optional JSON body: none for an empty body or `null`; a body that is
/// there must be JSON of the right shape, as for every other call.
fn optional_refresh_token(req: &HttpRequest, body: &[u8]) -> Result<Option<String>, AppError> {
    if body.is_empty() {
        return Ok(None);
    }
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json {
        return Err(AppError::UnsupportedMediaType(SEND_JSON));
    }
    serde_json::from_slice::<Option<RefreshIn>>(body)
        .map(|body| body.map(|body| body.refresh_token))
        .map_err(|error| AppError::BadRequest(format!("The JSON could not be read: {error}.")))
}

/// Revoke tokens: with a `refresh_token` in the body, that login only; without, every login of
/// the caller. Access tokens of a revoked login stop working at once.
#[utoipa::path(delete, path = "/api/tokens", tag = "tokens",
    security(("bearer" = [])),
    request_body(content = Option<RefreshIn>, description = "The one refresh token to revoke; none revokes all"),
    responses((status = 204, description = "Revoked"), Failures))]
#[tracing::instrument(name = "API: revoke tokens", skip_all)]
pub async fn revoke(
    caller: ApiUser,
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = caller.user.id;
    match optional_refresh_token(&req, &body)? {
        Some(token) => {
            let revoked = db::run(&state.pool, move |conn| {
                models::revoke_api_session(conn, user_id, &token)
            })
            .await?;
            if !revoked {
                return Err(AppError::Missing(
                    "No such refresh token of yours.".to_string(),
                ));
            }
        }
        None => {
            db::run(&state.pool, move |conn| {
                models::revoke_all_api_sessions(conn, user_id)
            })
            .await?;
        }
    }
    tracing::info!(user_id, "API tokens revoked");
    Ok(HttpResponse::NoContent().finish())
}
