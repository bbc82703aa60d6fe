//! `/api/posts`: publishing, reading and deleting posts.

use actix_web::{web, HttpResponse};

use super::auth::ApiUser;
use super::representations::{Failures, NewPostIn, PostOut};
use crate::db;
use crate::errors::AppError;
use crate::models;
use crate::web::forms::PostForm;
use crate::web::state::AppState;

/// Publish a post.
#[utoipa::path(post, path = "/api/posts", tag = "posts", request_body = NewPostIn,
    security(("bearer" = [])),
    responses((status = 201, body = PostOut), Failures))]
#[tracing::instrument(name = "API: publish", skip_all)]
pub async fn create(
    caller: ApiUser,
    body: web::Json<NewPostIn>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut form = PostForm {
        post: body.into_inner().body,
    };
    let mut errors = form.check();
    if let Some(messages) = errors.0.remove("post") {
        errors.0.insert("body".to_string(), messages);
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let user_id = caller.user.id;
    let post = db::run(&state.pool, move |conn| {
        let id = models::create_post(conn, user_id, &form.post)?;
        models::find_post(conn, id)?.ok_or(AppError::NotFound)
    })
    .await?;
    let location = format!("/api/posts/{}", post.id);
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(PostOut::from(post)))
}

/// One post.
#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts",
    params(("id" = i32, Path, description = "The post's id")),
    security(("bearer" = [])),
    responses((status = 200, body = PostOut), Failures))]
#[tracing::instrument(name = "API: post", skip(_caller, state))]
pub async fn get(
    _caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let post = db::run(&state.pool, move |conn| models::find_post(conn, id))
        .await?
        .ok_or_else(|| AppError::Missing(format!("There is no post {id}.")))?;
    Ok(HttpResponse::Ok().json(PostOut::from(post)))
}

/// Delete a post: its author or an admin.
#[utoipa::path(delete, path = "/api/posts/{id}", tag = "posts",
    params(("id" = i32, Path, description = "The post's id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Failures))]
#[tracing::instrument(name = "API: delete post", skip(caller, state))]
pub async fn delete(
    caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let author = db::run(&state.pool, move |conn| models::post_author(conn, id))
        .await?
        .ok_or_else(|| AppError::Missing(format!("There is no post {id}.")))?;
    if author != caller.user.id && !caller.is_admin() {
        return Err(AppError::Forbidden);
    }
    db::run(&state.pool, move |conn| models::delete_post(conn, id)).await?;
    tracing::info!(post_id = id, "Post deleted through the API");
    Ok(HttpResponse::NoContent().finish())
}
