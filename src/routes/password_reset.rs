//! Password reset, as in the Flask microblog: ask for a link by email, follow it within ten
//! minutes, choose a new password. The link stops working once the password has changed, and a
//! new password ends every login made with the old one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use tera::Context;

use crate::db;
use crate::errors::AppError;
use crate::mail::reset_mails::read_reset_token;
use crate::models::{self, User};
use crate::web::client::client_ip;
use crate::web::flash::Level;
use crate::web::forms::{FormErrors, ResetPasswordForm, ResetPasswordRequestForm};
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// `GET /auth/reset_password_request`.
#[tracing::instrument(name = "Reset request form", skip_all)]
pub async fn request_form(page: Page) -> Result<HttpResponse, AppError> {
    if page.user().is_some() {
        return Ok(see_other("/index"));
    }
    let form = ResetPasswordRequestForm {
        email: String::new(),
    };
    render_request(&page, &form, &FormErrors::default(), StatusCode::OK)
}

/// `POST /auth/reset_password_request`: queues a reset mail for the address. The answer is the
/// same for every address, by the same path and in the same time, so the form cannot tell who
/// has an account: finding the user and sending happen in the background (`mail/reset_mails.rs`).
#[tracing::instrument(name = "Reset request", skip_all)]
pub async fn request(
    web::Form(mut form): web::Form<ResetPasswordRequestForm>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let errors = form.check();
    if !errors.is_empty() {
        return render_request(&page, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let client = client_ip(page.request(), &state.settings.trusted_proxies);
    state.rate_limits.reset(client, &form.email)?;
    state.reset_mails.request(form.email);
    page.flash(
        Level::Info,
        "Check your email for the instructions to reset your password.",
    );
    Ok(see_other("/auth/login"))
}

fn render_request(
    page: &Page,
    form: &ResetPasswordRequestForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("title", "Reset Password");
    context.insert("form", form);
    context.insert("errors", errors);
    page.render("auth/reset_password_request.html", status, context)
}

/// The user a reset token was made for, if it is valid, unexpired and unused.
async fn user_of(state: &AppState, token: &str) -> Result<Option<User>, AppError> {
    let Some((id, print)) = read_reset_token(&state.reset, token) else {
        return Ok(None);
    };
    let user = db::run(&state.pool, move |conn| User::find(conn, id)).await?;
    // The fingerprint ties the link to the current password, so it works once.
    Ok(user.filter(|user| user.password_fingerprint() == print))
}

/// `GET /auth/reset_password/<token>`.
#[tracing::instrument(name = "Reset form", skip_all)]
pub async fn reset_form(
    page: Page,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if user_of(&state, &token).await?.is_none() {
        return Ok(invalid_link(&page));
    }
    render_reset(&page, &token, &FormErrors::default(), StatusCode::OK)
}

/// `POST /auth/reset_password/<token>`: sets the new password.
#[tracing::instrument(name = "Reset password", skip_all)]
pub async fn reset(
    web::Form(form): web::Form<ResetPasswordForm>,
    page: Page,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user_of(&state, &token).await? else {
        return Ok(invalid_link(&page));
    };
    let errors = form.check();
    if !errors.is_empty() {
        return render_reset(&page, &token, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let password = form.password;
    let hash = state.hashers.hash(password).await?;
    let (user_id, old_hash) = (user.id, user.password_hash);
    // A new password ends every login made with the old one, in the browser and in the API.
    let changed = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if !User::replace_password(conn, user_id, &old_hash, &hash)? {
                return Ok(false);
            }
            models::end_all_sessions(conn, user_id)?;
            models::revoke_all_api_sessions(conn, user_id)?;
            Ok(true)
        })
    })
    .await?;
    if !changed {
        // The link was used a moment ago by another request.
        return Ok(invalid_link(&page));
    }
    tracing::info!(user_id, "Password reset");
    page.flash(Level::Success, "Your password has been reset.");
    Ok(see_other("/auth/login"))
}

fn invalid_link(page: &Page) -> HttpResponse {
    page.flash(
        Level::Error,
        "The reset link is invalid or has expired. Please ask for a new one.",
    );
    see_other("/auth/reset_password_request")
}

fn render_reset(
    page: &Page,
    token: &str,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("title", "Reset Password");
    context.insert("action", &format!("/auth/reset_password/{token}"));
    context.insert("errors", errors);
    let mut response = page.render("auth/reset_password.html", status, context)?;
    // The page's URL holds the token: never send it to another site in a Referer.
    response.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
