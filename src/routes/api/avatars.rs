//! `/api/users/{id}/avatar`: the avatar as an image body (`PUT`), and its removal (`DELETE`),
//! with the profile form's rules and every refusal a problem document.

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::TryStreamExt;

use super::auth::ApiUser;
use super::representations::{Failures, ImageBytes, UserOut};
use crate::db;
use crate::errors::AppError;
use crate::models::{self, User};
use crate::uploads;
use crate::web::state::AppState;
use crate::web::streamed_body;

/// What the log line calls an API upload, which has no file name.
const BODY: &str = "(request body)";

/// Replace your avatar with an image: PNG, JPEG, GIF (its first frame) or WebP, at most
/// AVATAR_MAX_BYTES (2 MiB unless configured) and 4096 × 4096 pixels. The format is read from
/// the bytes; what is served is a 256 × 256 PNG made from them, without their metadata.
#[utoipa::path(put, path = "/api/users/{id}/avatar", tag = "users",
    request_body(content(
        (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
        (ImageBytes = "image/webp")
    ), description = "The image file's bytes"),
    params(("id" = i32, Path, description = "Your own id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserOut, description = "You, with `_links.avatar`"), Failures))]
#[tracing::instrument(name = "API: upload avatar", skip(caller, req, payload, state))]
pub async fn put(
    caller: ApiUser,
    id: web::Path<i32>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let me = owner(&caller, id.into_inner(), &state).await?;
    let is_image = req
        .mime_type()
        .ok()
        .flatten()
        .is_some_and(|mime| mime.type_() == "image");
    if !is_image {
        return Err(AppError::UnsupportedMediaType(
            "Send the image itself, with its type: image/png, image/jpeg, image/gif or image/webp.",
        ));
    }
    let limit = state.settings.avatar_max_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(uploads::refuse_too_large(&state, me, BODY, limit).into_api_error());
    }
    let _turn = state.upload_turns.take(me).await?;
    let mut body = payload.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(streamed_body::payload_error)?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(uploads::refuse_too_large(&state, me, BODY, limit).into_api_error());
        }
        bytes.extend_from_slice(&chunk);
    }
    let thumbnail = match uploads::accept(&state, me, BODY, bytes).await? {
        Ok(thumbnail) => thumbnail,
        Err(refused) => return Err(refused.into_api_error()),
    };
    let saved = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            models::save_avatar(conn, me, &thumbnail.version, &thumbnail.png)?;
            User::find(conn, me)?.ok_or(AppError::NotFound)
        })
    })
    .await;
    match saved {
        Ok(user) => {
            state.metrics.avatar_upload("saved");
            Ok(HttpResponse::Ok().json(UserOut::new(user, true)))
        }
        Err(error) => {
            state.metrics.avatar_upload("failed");
            Err(error.context("Failed to save an avatar"))
        }
    }
}

/// Remove your avatar: the identicon shows again.
#[utoipa::path(delete, path = "/api/users/{id}/avatar", tag = "users",
    params(("id" = i32, Path, description = "Your own id")),
    security(("bearer" = [])),
    responses((status = 204, description = "No uploaded avatar any more"), Failures))]
#[tracing::instrument(name = "API: remove avatar", skip(caller, state))]
pub async fn delete(
    caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let me = owner(&caller, id.into_inner(), &state).await?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| models::remove_avatar(conn, me))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's id, if `id` is theirs: another user's avatar is 403, no such user 404.
async fn owner(caller: &ApiUser, id: i32, state: &AppState) -> Result<i32, AppError> {
    if id == caller.user.id {
        return Ok(id);
    }
    let exists = db::run(&state.pool, move |conn| User::find(conn, id)).await?;
    match exists {
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::Missing(format!("There is no user {id}."))),
    }
}
