//! Profiles: `/user/<username>`, `/edit_profile`, and following.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use crate::db;
use crate::errors::{AppError, UniqueField};
use crate::models::{self, User};
use crate::web::display::{iso_time, listed_posts, time_ago};
use crate::web::flash::Level;
use crate::web::forms::{EditProfileForm, FormErrors};
use crate::web::page::Page;
use crate::web::pagination::{page_links, PageNumber};
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// The profile as `user.html` shows it.
#[derive(Serialize)]
struct Profile {
    username: String,
    about_me: String,
    avatar: String,
    last_seen: String,
    last_seen_ago: String,
    followers: i64,
    following: i64,
}

/// `GET /user/<username>`: a profile and its posts.
#[tracing::instrument(name = "User page", skip(req, state, query))]
pub async fn user(
    req: HttpRequest,
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageNumber>,
) -> Result<HttpResponse, AppError> {
    let (page_number, per_page) = (query.get(), state.settings.posts_per_page);
    let username = username.into_inner();
    let (page, shown) = Page::load(&req, move |conn, viewer| {
        let viewer = viewer.map(|viewer| viewer.id);
        let user = User::find_by_username(conn, &username)?.ok_or(AppError::NotFound)?;
        let posts = listed_posts(models::user_posts(conn, user.id, page_number, per_page)?);
        let followers = models::follower_count(conn, user.id)?;
        let following = models::following_count(conn, user.id)?;
        let is_following = match viewer {
            Some(viewer) => models::is_following(conn, viewer, user.id)?,
            None => false,
        };
        Ok((user, posts, followers, following, is_following))
    })
    .await?;
    let (user, posts, followers, following, is_following) = shown;
    let viewer = page.user().map(|user| user.id);

    let now = chrono::Utc::now().naive_utc();
    let profile = Profile {
        avatar: state
            .avatar_key
            .of(user.id, &user.email, user.avatar_version.as_deref(), 128),
        last_seen: iso_time(user.last_seen),
        last_seen_ago: time_ago(user.last_seen, now),
        username: user.username.clone(),
        about_me: user.about_me.clone(),
        followers,
        following,
    };
    let (newer, older) = page_links(&format!("/user/{}", user.username), &[], &posts);
    let mut context = Context::new();
    context.insert("title", &user.username);
    context.insert("user", &profile);
    context.insert("is_self", &(viewer == Some(user.id)));
    context.insert("is_following", &is_following);
    state
        .post_fragments
        .insert_posts(&mut context, &state.templates, posts.items)?;
    context.insert("newer_url", &newer);
    context.insert("older_url", &older);
    page.render("user.html", StatusCode::OK, context)
}

/// `GET /edit_profile`: the form, filled with the current values.
#[tracing::instrument(name = "Edit profile form", skip_all)]
pub async fn edit_profile_form(page: Page) -> Result<HttpResponse, AppError> {
    let user = page.require_user()?;
    let form = EditProfileForm {
        username: user.username.clone(),
        about_me: user.about_me.clone(),
    };
    render_edit_profile(&page, &form, &FormErrors::default())
}

/// `POST /edit_profile`: renames the user and changes their about-me text.
///
/// This is the Flask chapter's bug, fixed: a taken username is a form error, checked first by
/// a query and, for two requests racing past that check, by the unique index.
#[tracing::instrument(name = "Edit profile", skip_all)]
pub async fn edit_profile(
    web::Form(mut form): web::Form<EditProfileForm>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let mut errors = form.check();
    if !errors.is_empty() {
        return render_edit_profile(&page, &form, &errors);
    }
    let (username, about_me) = (form.username.clone(), form.about_me.clone());
    let saved = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // Keeping one's own name, in any case, is fine: only other users count.
            if User::username_taken(conn, &username, Some(user_id))? {
                return Err(AppError::Taken(UniqueField::Username));
            }
            User::update_profile(conn, user_id, &username, &about_me)
        })
    })
    .await;
    match saved {
        Ok(()) => {
            page.flash(Level::Success, "Your changes have been saved.");
            Ok(see_other("/edit_profile"))
        }
        Err(AppError::Taken(UniqueField::Username)) => {
            errors.add("username", "Please use a different username.");
            render_edit_profile(&page, &form, &errors)
        }
        Err(other) => Err(other),
    }
}

fn render_edit_profile(
    page: &Page,
    form: &EditProfileForm,
    errors: &FormErrors,
) -> Result<HttpResponse, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    edit_profile_page(page, form, errors, status)
}

/// The Edit Profile page with `form`'s values and `errors` next to their fields.
pub fn edit_profile_page(
    page: &Page,
    form: &EditProfileForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let state = crate::web::state::app_state(page.request())?;
    let mut context = Context::new();
    context.insert("title", "Edit Profile");
    context.insert("form", form);
    context.insert("errors", errors);
    context.insert(
        "has_avatar",
        &page
            .user()
            .is_some_and(|user| user.avatar_version.is_some()),
    );
    context.insert(
        "avatar_max",
        &crate::uploads::form::human_size(state.settings.avatar_max_bytes),
    );
    page.render("edit_profile.html", status, context)
}

/// `POST /follow/<username>`.
#[tracing::instrument(name = "Follow", skip(page, state))]
pub async fn follow(
    page: Page,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change_follow(&page, &state, username.into_inner(), true).await
}

/// `POST /unfollow/<username>`.
#[tracing::instrument(name = "Unfollow", skip(page, state))]
pub async fn unfollow(
    page: Page,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    change_follow(&page, &state, username.into_inner(), false).await
}

async fn change_follow(
    page: &Page,
    state: &AppState,
    username: String,
    start: bool,
) -> Result<HttpResponse, AppError> {
    let me = page.require_user()?.id;
    let target = username.clone();
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user) = User::find_by_username(conn, &target)? else {
                return Ok(None);
            };
            if user.id != me {
                match start {
                    true => models::follow(conn, me, user.id)?,
                    false => models::unfollow(conn, me, user.id)?,
                }
            }
            Ok(Some(user))
        })
    })
    .await?;
    let Some(user) = outcome else {
        // Never the path's text: it is whatever the client sent.
        page.flash(Level::Error, "That user does not exist.");
        return Ok(see_other("/index"));
    };
    let profile = format!("/user/{}", user.username);
    if user.id == me {
        page.flash(Level::Error, "You cannot follow yourself!");
    } else if start {
        page.flash(
            Level::Success,
            format!("You are following {}!", user.username),
        );
    } else {
        page.flash(
            Level::Info,
            format!("You are not following {}.", user.username),
        );
    }
    Ok(see_other(&profile))
}
