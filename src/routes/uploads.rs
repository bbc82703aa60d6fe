//! Avatars: the upload on Edit Profile (a multipart form), its removal, and the pictures
//! themselves, served by us with their version as ETag.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::users::edit_profile_page;
use crate::db;
use crate::errors::{AppError, UniqueField};
use crate::models::{self, User};
use crate::uploads::{self, FormError, Thumbnail, UploadForm, AVATAR_FIELD};
use crate::web::control_characters::has_control;
use crate::web::flash::Level;
use crate::web::forms::{EditProfileForm, FormErrors};
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// `POST /edit_profile` as a multipart form: the profile's fields and, if one was chosen, a
/// new avatar. The profile and the picture are saved together or not at all.
#[tracing::instrument(name = "Edit profile with avatar", skip_all)]
pub async fn edit_profile_with_avatar(
    req: HttpRequest,
    payload: web::Payload,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Before the body is read: a stranger's upload costs nothing.
    let user = page.require_user()?.clone();
    let _turn = state.upload_turns.take(user.id).await?;
    let limit = state.settings.avatar_max_bytes;
    let upload =
        match uploads::form::read(req.headers(), payload.into_inner(), AVATAR_FIELD, limit).await {
            Ok(upload) => upload,
            Err(FormError::FileTooLarge {
                fields,
                file_name,
                limit,
            }) => {
                let refused = uploads::refuse_too_large(&state, user.id, &file_name, limit);
                let form = profile_form(&fields, &user);
                let mut errors = FormErrors::default();
                errors.add(AVATAR_FIELD, &refused.message);
                return edit_profile_page(&page, &form, &errors, refused.status);
            }
            Err(error) => return Err(form_error(error)),
        };
    let UploadForm { fields, file } = upload;
    if fields
        .iter()
        .any(|(name, value)| has_control(name) || has_control(value))
    {
        return Err(AppError::BadRequest(
            "The request holds a control character (such as a NUL byte) where none is allowed."
                .to_string(),
        ));
    }
    let mut form = profile_form(&fields, &user);
    let mut errors = form.check();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let mut thumbnail = None;
    let file_name = file
        .as_ref()
        .map(|file| file.file_name.clone())
        .unwrap_or_default();
    if let Some(file) = file {
        match uploads::accept(&state, user.id, &file.file_name, file.bytes).await? {
            Ok(accepted) => thumbnail = Some(accepted),
            Err(refused) => {
                errors.add(AVATAR_FIELD, &refused.message);
                status = refused.status;
            }
        }
    }
    if !errors.is_empty() {
        return edit_profile_page(&page, &form, &errors, status);
    }
    let (username, about_me) = (form.username.clone(), form.about_me.clone());
    let new_avatar = thumbnail.is_some();
    let saved = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if User::username_taken(conn, &username, Some(user.id))? {
                return Err(AppError::Taken(UniqueField::Username));
            }
            User::update_profile(conn, user.id, &username, &about_me)?;
            if let Some(Thumbnail { png, version }) = &thumbnail {
                models::save_avatar(conn, user.id, version, png)?;
            }
            Ok(())
        })
    })
    .await;
    match saved {
        Ok(()) => {
            if new_avatar {
                state.metrics.avatar_upload("saved");
            }
            page.flash(Level::Success, "Your changes have been saved.");
            Ok(see_other("/edit_profile"))
        }
        Err(AppError::Taken(UniqueField::Username)) => {
            errors.add("username", "Please use a different username.");
            edit_profile_page(&page, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) if new_avatar => {
            state.metrics.avatar_upload("failed");
            // The one ERROR line names the user (as every 500's does) and the file.
            Err(other.context(format!(
                "Failed to save the profile and the avatar {file_name:?}"
            )))
        }
        Err(other) => Err(other),
    }
}

/// A form that could not be read, as the error page says it.
pub fn form_error(error: FormError) -> AppError {
    match error {
        FormError::TimedOut => AppError::RequestTimeout,
        FormError::FileTooLarge { .. } | FormError::FieldsTooLarge => AppError::PayloadTooLarge,
        FormError::Malformed => {
            AppError::BadRequest("The form was incomplete or malformed.".to_string())
        }
    }
}

/// The profile fields of a multipart form. A form that sends neither (only a file, or a file
/// too large to read past) keeps the current values; one that sends only one leaves the other
/// empty, for the form's own rules to name.
fn profile_form(fields: &HashMap<String, String>, user: &User) -> EditProfileForm {
    let sent = fields.contains_key("username") || fields.contains_key("about_me");
    let field = |name: &str, current: &str| match fields.get(name) {
        Some(value) => value.clone(),
        None if sent => String::new(),
        None => current.to_string(),
    };
    EditProfileForm {
        username: field("username", &user.username),
        about_me: field("about_me", &user.about_me),
    }
}

/// `POST /edit_profile/remove_avatar`: back to the identicon.
#[tracing::instrument(name = "Remove avatar", skip_all)]
pub async fn remove_avatar(
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let removed = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| models::remove_avatar(conn, user_id))
    })
    .await?;
    if removed {
        page.flash(Level::Success, "Your avatar has been removed.");
    }
    Ok(see_other("/edit_profile"))
}

/// `GET /avatars/{user_id}/{version}`: an uploaded avatar, a PNG we encoded. Its URL names its
/// version, so it is cached for good; an older version's URL gets the current picture, checked
/// again each time. A browser that has the current one gets 304 without the picture being read.
#[tracing::instrument(name = "Avatar", skip_all)]
pub async fn avatar(
    req: HttpRequest,
    path: web::Path<(i32, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (user_id, asked) = path.into_inner();
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let if_none_match = cached.clone();
    let (owner, stored) = db::run(&state.pool, move |conn| {
        let owner = models::avatar_owner(conn, user_id)?;
        let current = owner.as_ref().and_then(|(_, version)| version.as_deref());
        let fresh = current.is_some_and(|version| !matches_etag(if_none_match.as_deref(), version));
        let stored = match fresh {
            true => models::find_avatar(conn, user_id)?,
            false => None,
        };
        Ok((owner, stored))
    })
    .await?;
    let Some((email, version)) = owner else {
        return Err(AppError::NotFound);
    };
    let identicon = || {
        HttpResponse::Found()
            .insert_header((header::LOCATION, state.avatar_key.url(&email, 256)))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish()
    };
    let Some(version) = version else {
        return Ok(identicon());
    };
    let mut response = match &stored {
        Some(_) => HttpResponse::Ok(),
        None if matches_etag(cached.as_deref(), &version) => HttpResponse::NotModified(),
        None => {
            // The user's row names a picture that is not there: someone removed it by hand.
            tracing::warn!(
                user_id,
                "An avatar is missing from the database; showing the identicon"
            );
            return Ok(identicon());
        }
    };
    // The picture's own version as read: the user may have replaced it in between.
    let version = stored
        .as_ref()
        .map_or(version, |stored| stored.version.clone());
    let cache = match asked == version {
        true => "public, max-age=31536000, immutable",
        false => "no-cache",
    };
    response
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "inline; filename=\"avatar.png\"",
        ));
    match stored {
        Some(stored) => Ok(response.content_type("image/png").body(stored.image)),
        None => Ok(response.finish()),
    }
}

/// Whether an `If-None-Match` value names `version` (or is `*`).
fn matches_etag(if_none_match: Option<&str>, version: &str) -> bool {
    if_none_match.is_some_and(|value| {
        value.split(',').any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version
        })
    })
}
