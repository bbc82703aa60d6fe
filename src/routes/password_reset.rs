//! Password reset, as in the Flask microblog: ask for a link by email, follow it within ten
//! minutes, choose a new password. The link stops working once the password has changed.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use tera::Context;

use crate::db;
use crate::errors::AppError;
use crate::models::User;
use crate::password::hash_password_off_thread;
use crate::web::flash::Level;
use crate::web::forms::{FormErrors, ResetPasswordForm, ResetPasswordRequestForm};
use crate::web::page::Page;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// How long a reset link works.
const RESET_SECONDS: i64 = 600;

/// The reset link for `user`.
fn reset_token(state: &AppState, user: &User) -> String {
    state.reset.sign(
        &format!("{}-{}", user.id, user.password_fingerprint()),
        RESET_SECONDS,
    )
}

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

/// `POST /auth/reset_password_request`: mails a reset link if the address belongs to a user.
/// The answer is the same whether it does or not, so the form cannot tell who has an account —
/// except when the mail server fails, which only a known address reaches: then the user is told
/// to try later rather than left waiting for a mail that will not come. Unlike error mails, this
/// one is sent within the request (bounded by MAIL_TIMEOUT) so that the user can be told.
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
    let email = form.email.clone();
    let user = db::run(&state.pool, move |conn| User::find_by_email(conn, &email)).await?;
    if let Some(user) = user {
        let link = format!(
            "{}/auth/reset_password/{}",
            state.settings.server_url,
            reset_token(&state, &user)
        );
        let mut mail = Context::new();
        mail.insert("username", &user.username);
        mail.insert("link", &link);
        let body = state.templates.render("mail/reset_password.txt", &mail)?;
        // lettre's timeout applies to each SMTP step; this bounds the whole exchange.
        let limit = Duration::from_secs(state.settings.mail.timeout_seconds);
        let sending = state.mailer.send(
            std::slice::from_ref(&user.email),
            "[Microblog] Reset Your Password",
            body,
        );
        let sent = match tokio::time::timeout(limit, sending).await {
            Ok(sent) => sent.map_err(anyhow::Error::new),
            Err(_) => Err(anyhow::anyhow!(
                "the mail server did not finish within MAIL_TIMEOUT"
            )),
        };
        if let Err(error) = sent {
            // The user can do nothing about it but try later: say so kindly; the details are
            // for the log.
            tracing::error!(error.chain = ?error, user_id = user.id, "The password reset mail could not be sent");
            let mut errors = FormErrors::default();
            errors.add(
                "form",
                "Sorry, we could not send the email right now. Please try again in a few minutes.",
            );
            return render_request(&page, &form, &errors, StatusCode::SERVICE_UNAVAILABLE);
        }
        tracing::info!(user_id = user.id, "Sent a password reset mail");
    }
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
    let Some(payload) = state.reset.verify(token) else {
        return Ok(None);
    };
    let Some((id, print)) = payload.split_once('-') else {
        return Ok(None);
    };
    let Ok(id) = id.parse::<i32>() else {
        return Ok(None);
    };
    let print = print.to_string();
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
    let hash = hash_password_off_thread(password).await?;
    let user_id = user.id;
    db::run(&state.pool, move |conn| {
        User::set_password(conn, user_id, &hash)
    })
    .await?;
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
