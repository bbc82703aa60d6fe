//! The handlers, one file per area of the site, and [`configure`]: the route table.
//!
//! Add routes here the way actix's documentation shows (`.service(web::resource(...))`,
//! `.route(...)`, `#[get]` handlers): the protections in `startup.rs` (CSRF, panics as our 500
//! page, error pages) apply to every route without anything to opt into. Each path is one
//! `web::resource` with its methods, so that a wrong method is a 405 with `Allow` (a plain
//! `.route(path, web::get()…)` makes the method part of the path's match, and answers 404).

pub mod admin;
pub mod api;
pub mod auth;
pub mod avatar;
pub mod export;
pub mod health;
pub mod lab;
pub mod password_reset;
pub mod posts;
pub mod uploads;
pub mod users;

use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};

use crate::errors::AppError;
use crate::web::login::current_user;

/// Every URL of the site. `lab` adds the error lab's routes; without it, they do not exist.
pub fn configure(config: &mut web::ServiceConfig, lab: bool) {
    config
        .service(
            web::resource(["/", "/index"])
                .route(web::get().to(posts::index))
                .route(web::post().to(posts::publish)),
        )
        .service(web::resource("/explore").route(web::get().to(posts::explore)))
        .service(
            web::resource("/export_posts")
                .route(web::get().to(export::export_status))
                .route(web::post().to(export::request_export)),
        )
        .service(web::resource("/search").route(web::get().to(posts::search)))
        .service(web::resource("/user/{username}").route(web::get().to(users::user)))
        .service(
            web::resource("/edit_profile")
                .route(web::get().to(users::edit_profile_form))
                .route(
                    web::post()
                        .guard(guard::fn_guard(is_multipart))
                        .to(uploads::edit_profile_with_avatar),
                )
                .route(web::post().to(users::edit_profile)),
        )
        .service(
            web::resource("/edit_profile/remove_avatar")
                .route(web::post().to(uploads::remove_avatar)),
        )
        .service(
            web::resource("/avatars/{user_id}/{version}").route(web::get().to(uploads::avatar)),
        )
        .service(web::resource("/follow/{username}").route(web::post().to(users::follow)))
        .service(web::resource("/unfollow/{username}").route(web::post().to(users::unfollow)))
        .service(
            web::resource("/auth/register")
                .route(web::get().to(auth::register_form))
                .route(web::post().to(auth::register)),
        )
        .service(
            web::resource("/auth/login")
                .route(web::get().to(auth::login_form))
                .route(web::post().to(auth::login)),
        )
        .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
        .service(
            web::resource("/auth/reset_password_request")
                .route(web::get().to(password_reset::request_form))
                .route(web::post().to(password_reset::request)),
        )
        .service(
            web::resource("/auth/reset_password/{token}")
                .route(web::get().to(password_reset::reset_form))
                .route(web::post().to(password_reset::reset)),
        )
        .service(web::resource("/avatar/{digest}").route(web::get().to(avatar::avatar)))
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));
    admin::configure(config);
    api::configure(config);
    if lab {
        lab::configure(config);
    }
}

/// Whether a request's body is a multipart form (an upload).
fn is_multipart(ctx: &guard::GuardContext) -> bool {
    ctx.header::<header::ContentType>()
        .is_some_and(|content_type| content_type.0.essence_str() == "multipart/form-data")
}

/// The routes that answer POST alone. A login's `next` never leads to one: the browser's GET
/// there would meet a 405. Add a POST-only route of yours here too.
const POST_ONLY: [&str; 8] = [
    "/edit_profile/remove_avatar",
    "/admin/jobs/{id}/retry",
    "/admin/errors/{id}/{action}",
    "/follow/{username}",
    "/unfollow/{username}",
    "/auth/logout",
    "/lab/too-large",
    "/lab/{experiment}",
];

/// Whether a browser's GET of `target` (a path on this site, with its query) reaches a page:
/// not a POST-only route, nor the JSON API. An unknown path is a page (our 404 page).
pub fn answers_get(req: &HttpRequest, target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    if path == "/api" || path.starts_with("/api/") {
        return false;
    }
    req.resource_map()
        .match_pattern(path)
        .is_none_or(|pattern| !POST_ONLY.contains(&pattern.as_str()))
}

/// Every URL without a route: our 404 page, with the navigation of the logged-in user.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    // Loading the user here lets the error page show the right navigation; if even that
    // fails, the 404 is still the answer.
    let _ = current_user(&req).await;
    Err(AppError::NotFound)
}
