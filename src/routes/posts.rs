//! The timelines: home (`/`, `/index`), `/explore` and `/search`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use crate::db;
use crate::errors::AppError;
use crate::models::{self, Paginated};
use crate::web::display::{listed_posts, ListedPost};
use crate::web::flash::Level;
use crate::web::forms::{FormErrors, PostForm};
use crate::web::page::Page;
use crate::web::pagination::{page_links, PageNumber};
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// `GET /` and `/index`: the post form and the timeline of the user and the users they follow.
#[tracing::instrument(name = "Home page", skip_all)]
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PageNumber>,
) -> Result<HttpResponse, AppError> {
    let (page_number, per_page) = (query.get(), state.settings.posts_per_page);
    let (page, posts) = Page::load(&req, move |conn, user| match user {
        Some(user) => models::timeline_posts(conn, user.id, page_number, per_page).map(Some),
        None => Ok(None),
    })
    .await?;
    page.require_user()?;
    let posts = posts.unwrap_or_else(|| Paginated::from_rows(Vec::new(), page_number, per_page));
    let form = PostForm {
        post: String::new(),
    };
    let posts = listed_posts(posts);
    show_home(&page, &state, posts, form, FormErrors::default())
}

/// `POST /` and `/index`: publishes a post.
#[tracing::instrument(name = "Publish post", skip_all)]
pub async fn publish(
    web::Form(mut form): web::Form<PostForm>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let errors = form.check();
    if !errors.is_empty() {
        return home(&page, &state, 1, form, errors).await;
    }
    let body = form.post;
    db::run(&state.pool, move |conn| {
        models::create_post(conn, user_id, &body)
    })
    .await?;
    page.flash(Level::Success, "Your post is now live!");
    Ok(see_other("/index"))
}

async fn home(
    page: &Page,
    state: &AppState,
    page_number: i64,
    form: PostForm,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let user_id = page.require_user()?.id;
    let per_page = state.settings.posts_per_page;
    let posts = db::run(&state.pool, move |conn| {
        models::timeline_posts(conn, user_id, page_number, per_page)
    })
    .await
    .map(listed_posts)?;
    show_home(page, state, posts, form, errors)
}

fn show_home(
    page: &Page,
    state: &AppState,
    posts: Paginated<ListedPost>,
    form: PostForm,
    errors: FormErrors,
) -> Result<HttpResponse, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut context = timeline_context(state, "Home", "/index", &[], posts)?;
    context.insert("form", &form);
    context.insert("errors", &errors);
    page.render("index.html", status, context)
}

/// `GET /explore`: everyone's posts, newest first.
#[tracing::instrument(name = "Explore page", skip_all)]
pub async fn explore(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PageNumber>,
) -> Result<HttpResponse, AppError> {
    let (page_number, per_page) = (query.get(), state.settings.posts_per_page);
    let (page, posts) = Page::load(&req, move |conn, _| {
        models::explore_posts(conn, page_number, per_page)
    })
    .await?;
    let posts = listed_posts(posts);
    let context = timeline_context(&state, "Explore", "/explore", &[], posts)?;
    page.render("index.html", StatusCode::OK, context)
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

/// `GET /search?q=`: posts whose text contains the query.
#[tracing::instrument(name = "Search", skip_all, fields(q = %query.q))]
pub async fn search(
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.q.trim().chars().take(100).collect::<String>();
    let page_number = query.page.unwrap_or(1).max(1);
    let per_page = state.settings.posts_per_page;
    let posts = if q.is_empty() {
        Paginated::from_rows(Vec::new(), 1, per_page)
    } else {
        let text = q.clone();
        db::run(&state.pool, move |conn| {
            models::search_posts(conn, &text, page_number, per_page)
        })
        .await
        .map(listed_posts)?
    };
    let mut context = timeline_context(&state, "Search", "/search", &[("q", &q)], posts)?;
    context.insert("q", &q);
    page.render("search.html", StatusCode::OK, context)
}

/// What every list of posts shows: the title, the posts and the newer/older links.
fn timeline_context(
    state: &AppState,
    title: &str,
    path: &str,
    params: &[(&str, &str)],
    posts: Paginated<ListedPost>,
) -> Result<Context, AppError> {
    let (newer, older) = page_links(path, params, &posts);
    let mut context = Context::new();
    context.insert("title", title);
    state
        .post_fragments
        .insert_posts(&mut context, &state.templates, posts.items)?;
    context.insert("newer_url", &newer);
    context.insert("older_url", &older);
    Ok(context)
}
