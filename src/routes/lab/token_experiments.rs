//! The API's token failures, from the lab: an expired token, a tampered one, the wrong role.
//! Each checks a token exactly as every `/api/` call checks its own.

use actix_web::HttpResponse;

use crate::errors::{AppError, Challenge};
use crate::web::state::AppState;

/// An API access token that expired a minute ago, checked as the API checks every token.
pub(super) fn expired_token(state: &AppState) -> Result<HttpResponse, AppError> {
    let token = state.access_tokens.issue_for(0, "user", "lab", -60)?;
    state
        .access_tokens
        .check(&token)
        .map_err(|problem| AppError::Unauthorized(Challenge::Bearer(problem)))?;
    Err(AppError::unexpected(anyhow::anyhow!(
        "An expired token was accepted"
    )))
}

/// A valid token whose payload was edited to say `admin`; its signature no longer matches.
pub(super) fn tampered_token(state: &AppState) -> Result<HttpResponse, AppError> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = state.access_tokens.issue(0, "user", "lab")?;
    let parts: Vec<&str> = token.split('.').collect();
    let payload = engine
        .decode(parts.get(1).copied().unwrap_or_default())
        .map_err(|error| AppError::unexpected(error))?;
    let forged = String::from_utf8_lossy(&payload).replace(r#""role":"user""#, r#""role":"admin""#);
    let tampered = format!(
        "{}.{}.{}",
        parts.first().copied().unwrap_or_default(),
        engine.encode(forged),
        parts.get(2).copied().unwrap_or_default()
    );
    state
        .access_tokens
        .check(&tampered)
        .map_err(|problem| AppError::Unauthorized(Challenge::Bearer(problem)))?;
    Err(AppError::unexpected(anyhow::anyhow!(
        "A tampered token was accepted"
    )))
}

/// A valid token with the `user` role, at an endpoint for admins only.
pub(super) fn wrong_role(state: &AppState) -> Result<HttpResponse, AppError> {
    let token = state.access_tokens.issue(0, "user", "lab")?;
    let claims = state
        .access_tokens
        .check(&token)
        .map_err(|problem| AppError::Unauthorized(Challenge::Bearer(problem)))?;
    if claims.role != "admin" {
        return Err(AppError::InsufficientScope);
    }
    Err(AppError::unexpected(anyhow::anyhow!(
        "A user token passed an admin check"
    )))
}
