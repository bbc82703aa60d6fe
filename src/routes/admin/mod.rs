//! The admins' pages (role `admin`, granted with `microblog admin NAME`): anonymous visitors
//! are sent to the login page, other users get our 403 page.

pub mod errors;
pub mod jobs;
pub mod status;

use actix_web::web;

/// The admin pages' routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/admin/status").route(web::get().to(status::status)))
        .service(web::resource("/admin/jobs").route(web::get().to(jobs::jobs)))
        .service(web::resource("/admin/jobs/{id}/retry").route(web::post().to(jobs::retry)))
        .service(web::resource("/admin/status.json").route(web::get().to(status::status_json)))
        .service(web::resource("/admin/errors").route(web::get().to(errors::inbox)))
        .service(web::resource("/admin/errors/{id}").route(web::get().to(errors::group)))
        .service(
            web::resource("/admin/errors/{id}/{action}").route(web::post().to(errors::change)),
        );
}
