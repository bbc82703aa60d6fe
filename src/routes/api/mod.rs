//! The JSON API under `/api/`, modelled on the Flask microblog's: tokens, users, posts. It
//! authenticates by bearer token alone (no cookies, so no CSRF check: `web/csrf.rs`), and every
//! failure is an RFC 9457 problem document (`errors/pages.rs` chooses JSON for `/api/` paths).
//! `/api/openapi.json` is generated from the handlers below.

mod admin_errors;
mod admin_jobs;
mod auth;
mod avatars;
mod posts;
mod representations;
mod tokens;
mod users;

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::errors::AppError;
use representations::SEND_JSON;

/// The API's caller, for a fork's own API routes: a handler that takes it requires a valid
/// bearer token.
pub use auth::ApiUser;

/// The API's routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/api/openapi.json").route(web::get().to(openapi)))
        .service(
            web::resource("/api/tokens")
                .route(web::post().to(tokens::create))
                .route(web::delete().to(tokens::revoke)),
        )
        .service(web::resource("/api/tokens/refresh").route(web::post().to(tokens::refresh)))
        .service(
            web::resource("/api/users")
                .route(web::get().to(users::list))
                .route(web::post().to(users::create)),
        )
        .service(
            web::resource("/api/users/{id}")
                .route(web::get().to(users::get))
                .route(web::put().to(users::update)),
        )
        .service(
            web::resource("/api/users/{id}/avatar")
                .route(web::put().to(avatars::put))
                .route(web::delete().to(avatars::delete)),
        )
        .service(web::resource("/api/users/{id}/followers").route(web::get().to(users::followers)))
        .service(web::resource("/api/users/{id}/following").route(web::get().to(users::following)))
        .service(web::resource("/api/users/{id}/posts").route(web::get().to(users::posts)))
        .service(
            web::resource("/api/users/{id}/follow")
                .route(web::post().to(users::follow))
                .route(web::delete().to(users::unfollow)),
        )
        .service(web::resource("/api/admin/users").route(web::get().to(users::admin_list)))
        .service(web::resource("/api/admin/errors").route(web::get().to(admin_errors::list)))
        .service(web::resource("/api/admin/jobs").route(web::get().to(admin_jobs::list)))
        .service(web::resource("/api/admin/errors/{id}").route(web::get().to(admin_errors::get)))
        .service(web::resource("/api/posts").route(web::post().to(posts::create)))
        .service(
            web::resource("/api/posts/{id}")
                .route(web::get().to(posts::get))
                .route(web::delete().to(posts::delete)),
        );
}

/// How `web::Json` answers a body it cannot take: 415 for another content type, 413 past the
/// limit, and 400 naming the line and column of malformed JSON.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _| match error {
            JsonPayloadError::ContentType => AppError::UnsupportedMediaType(SEND_JSON).into(),
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                AppError::PayloadTooLarge.into()
            }
            JsonPayloadError::Deserialize(error) => AppError::BadRequest(format!(
                "The JSON could not be read: {}.",
                without_rust_names(&error.to_string())
            ))
            .into(),
            _ => AppError::BadRequest("The body could not be read.".to_string()).into(),
        })
}

/// serde's messages name our Rust types ("expected struct UserUpdateIn"): a client reads what
/// was expected instead, and nothing of how the server is written.
fn without_rust_names(message: &str) -> String {
    static RUST_NAME: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\b(?:(?:tuple |unit |newtype )?struct|enum|(?:struct |tuple |unit |newtype )?variant) [A-Za-z_][A-Za-z0-9_:]*",
        )
        .ok()
    });
    let Some(rust_name) = RUST_NAME.as_ref() else {
        return "the body does not match the schema".to_string();
    };
    rust_name
        .replace_all(message, |found: &regex::Captures| {
            if found[0].contains("struct") {
                "a JSON object"
            } else {
                "one of the allowed values"
            }
        })
        .into_owned()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "microblog API", description = "Tokens, users, posts, and the error inbox for admins. Every failure is an RFC 9457 problem document with the request id."),
    paths(
        tokens::create, tokens::refresh, tokens::revoke,
        users::list, users::get, users::create, users::update, users::followers,
        users::following, users::posts, users::follow, users::unfollow, users::admin_list,
        avatars::put, avatars::delete,
        posts::create, posts::get, posts::delete,
        admin_errors::list, admin_errors::get, admin_jobs::list,
    ),
    components(schemas(representations::Problem)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// The two ways to authenticate: bearer tokens, and Basic for getting one.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Result<HttpResponse, AppError> {
    let json = ApiDoc::openapi()
        .to_json()
        .map_err(|e| AppError::unexpected(e).context("Failed to write the OpenAPI document"))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json))
}

#[cfg(test)]
mod tests {
    use super::without_rust_names;

    #[test]
    fn json_errors_never_name_a_rust_type() {
        for (message, expected) in [
            (
                "invalid type: string \"x\", expected struct UserUpdateIn at line 1 column 3",
                "invalid type: string \"x\", expected a JSON object at line 1 column 3",
            ),
            (
                "unknown variant `x`, expected enum Role",
                "unknown variant `x`, expected one of the allowed values",
            ),
            ("missing field `body`", "missing field `body`"),
        ] {
            assert_eq!(without_rust_names(message), expected);
        }
    }
}
