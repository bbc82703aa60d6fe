//! `/api/users`: listing, reading, registering and editing users, their follows and posts.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;

use super::auth::ApiUser;
use super::representations::{
    Collection, Failures, NewUserIn, PageQuery, PostOut, UserOut, UserUpdateIn,
};
use crate::db;
use crate::errors::{AppError, UniqueField};
use crate::models::{self, NewUser, User};
use crate::routes::auth::check_not_taken;
use crate::web::client::client_ip;
use crate::web::forms::{EditProfileForm, RegistrationForm};
use crate::web::state::AppState;

async fn load_user(state: &AppState, id: i32) -> Result<User, AppError> {
    db::run(&state.pool, move |conn| User::find(conn, id))
        .await?
        .ok_or_else(|| AppError::Missing(format!("There is no user {id}.")))
}

/// Every user, a page at a time.
#[utoipa::path(get, path = "/api/users", tag = "users", params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<UserOut>), Failures))]
#[tracing::instrument(name = "API: users", skip_all)]
pub async fn list(
    caller: ApiUser,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (page, per_page) = query.window()?;
    let users = db::run(&state.pool, move |conn| User::page(conn, page, per_page)).await?;
    let admin = caller.is_admin();
    let me = caller.user.id;
    Ok(
        HttpResponse::Ok().json(Collection::new("/api/users", users, per_page, |user| {
            let show_email = admin || user.id == me;
            UserOut::new(user, show_email)
        })),
    )
}

/// One user.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserOut), Failures))]
#[tracing::instrument(name = "API: user", skip(caller, state))]
pub async fn get(
    caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = load_user(&state, id.into_inner()).await?;
    let show_email = caller.is_admin() || caller.user.id == user.id;
    Ok(HttpResponse::Ok().json(UserOut::new(user, show_email)))
}

/// Register, with the same rules as the form: a username free in any case, an email address,
/// a password of 8 to 128 characters.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = NewUserIn,
    responses((status = 201, body = UserOut), Failures))]
#[tracing::instrument(name = "API: register", skip_all)]
pub async fn create(
    req: HttpRequest,
    body: web::Json<NewUserIn>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state
        .rate_limits
        .register(client_ip(&req, &state.settings.trusted_proxies))?;
    let body = body.into_inner();
    let mut form = RegistrationForm {
        username: body.username,
        email: body.email,
        password: SecretString::from(body.password.clone()),
        password2: SecretString::from(body.password),
    };
    let mut errors = form.check();
    if errors.is_empty() {
        check_not_taken(&state, &form, &mut errors).await?;
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let password_hash = state.hashers.hash(form.password).await?;
    let (username, email) = (form.username, form.email);
    let user = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            User::insert(
                conn,
                &NewUser {
                    username: &username,
                    email: &email,
                    password_hash: &password_hash,
                },
            )
        })
    })
    .await?;
    tracing::info!(user_id = user.id, "Registered a new user through the API");
    let location = format!("/api/users/{}", user.id);
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(UserOut::new(user, true)))
}

/// Change your own username or about-me text.
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", request_body = UserUpdateIn,
    params(("id" = i32, Path, description = "Your own id")),
    security(("bearer" = [])),
    responses((status = 200, body = UserOut), Failures))]
#[tracing::instrument(name = "API: edit user", skip(caller, body, state))]
pub async fn update(
    caller: ApiUser,
    id: web::Path<i32>,
    body: web::Json<UserUpdateIn>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let me = caller.user;
    if id != me.id {
        load_user(&state, id).await?;
        return Err(AppError::Forbidden);
    }
    let body = body.into_inner();
    let mut form = EditProfileForm {
        username: body.username.unwrap_or(me.username),
        about_me: body.about_me.unwrap_or(me.about_me),
    };
    let errors = form.check();
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (username, about_me) = (form.username, form.about_me);
    let user = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if User::username_taken(conn, &username, Some(id))? {
                return Err(AppError::Taken(UniqueField::Username));
            }
            User::update_profile(conn, id, &username, &about_me)?;
            User::find(conn, id)?.ok_or(AppError::NotFound)
        })
    })
    .await
    .map_err(|error| match error {
        AppError::Taken(_) => {
            let mut errors = crate::web::forms::FormErrors::default();
            errors.add("username", "Please use a different username.");
            AppError::Invalid(errors)
        }
        other => other,
    })?;
    Ok(HttpResponse::Ok().json(UserOut::new(user, true)))
}

async fn follows(
    state: &AppState,
    id: i32,
    query: &PageQuery,
    followers: bool,
) -> Result<HttpResponse, AppError> {
    load_user(state, id).await?;
    let (page, per_page) = query.window()?;
    let list = db::run(&state.pool, move |conn| {
        models::follow_page(conn, id, followers, page, per_page)
    })
    .await?;
    let path = format!(
        "/api/users/{id}/{}",
        if followers { "followers" } else { "following" }
    );
    Ok(
        HttpResponse::Ok().json(Collection::new(&path, list, per_page, |user| {
            UserOut::new(user, false)
        })),
    )
}

/// The users who follow this one.
#[utoipa::path(get, path = "/api/users/{id}/followers", tag = "users", params(("id" = i32, Path), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<UserOut>), Failures))]
#[tracing::instrument(name = "API: followers", skip(_caller, query, state))]
pub async fn followers(
    _caller: ApiUser,
    id: web::Path<i32>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    follows(&state, id.into_inner(), &query, true).await
}

/// The users this one follows.
#[utoipa::path(get, path = "/api/users/{id}/following", tag = "users", params(("id" = i32, Path), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<UserOut>), Failures))]
#[tracing::instrument(name = "API: following", skip(_caller, query, state))]
pub async fn following(
    _caller: ApiUser,
    id: web::Path<i32>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    follows(&state, id.into_inner(), &query, false).await
}

/// This user's posts, newest first.
#[utoipa::path(get, path = "/api/users/{id}/posts", tag = "users", params(("id" = i32, Path), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<PostOut>), Failures))]
#[tracing::instrument(name = "API: user posts", skip(_caller, query, state))]
pub async fn posts(
    _caller: ApiUser,
    id: web::Path<i32>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    load_user(&state, id).await?;
    let (page, per_page) = query.window()?;
    let list = db::run(&state.pool, move |conn| {
        models::user_posts(conn, id, page, per_page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Collection::new(
        &format!("/api/users/{id}/posts"),
        list,
        per_page,
        PostOut::from,
    )))
}

async fn change_follow(
    caller: ApiUser,
    id: i32,
    state: &AppState,
    start: bool,
) -> Result<HttpResponse, AppError> {
    let me = caller.user.id;
    if id == me {
        let mut errors = crate::web::forms::FormErrors::default();
        errors.add("id", "You cannot follow yourself.");
        return Err(AppError::Invalid(errors));
    }
    load_user(state, id).await?;
    db::run(&state.pool, move |conn| match start {
        true => models::follow(conn, me, id),
        false => models::unfollow(conn, me, id),
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Follow this user.
#[utoipa::path(post, path = "/api/users/{id}/follow", tag = "users", params(("id" = i32, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "Following"), Failures))]
#[tracing::instrument(name = "API: follow", skip(caller, state))]
pub async fn follow(
    caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    change_follow(caller, id.into_inner(), &state, true).await
}

/// Stop following this user.
#[utoipa::path(delete, path = "/api/users/{id}/follow", tag = "users", params(("id" = i32, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "Not following"), Failures))]
#[tracing::instrument(name = "API: unfollow", skip(caller, state))]
pub async fn unfollow(
    caller: ApiUser,
    id: web::Path<i32>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    change_follow(caller, id.into_inner(), &state, false).await
}

/// Admins only: every user with their email address and role.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<UserOut>), Failures))]
#[tracing::instrument(name = "API: admin users", skip_all)]
pub async fn admin_list(
    caller: ApiUser,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let (page, per_page) = query.window()?;
    let users = db::run(&state.pool, move |conn| User::page(conn, page, per_page)).await?;
    Ok(HttpResponse::Ok().json(Collection::new(
        "/api/admin/users",
        users,
        per_page,
        |user| UserOut::new(user, true),
    )))
}
