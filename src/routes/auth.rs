//! Accounts: `/auth/register`, `/auth/login`, `/auth/logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::db;
use crate::errors::{AppError, UniqueField};
use crate::models::{NewUser, User};
use crate::web::client::client_ip;
use crate::web::flash::{flash, Level};
use crate::web::forms::{FormErrors, LoginForm, RegistrationForm};
use crate::web::login::{forget_cookie, log_in, log_out, remember_browser};
use crate::web::page::Page;
use crate::web::redirect::safe_redirect_target;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// `?next=` on the login page: where to go after logging in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The login form's values as the template shows them (never the password).
#[derive(Serialize)]
struct LoginValues<'a> {
    username: &'a str,
    remember_me: bool,
}

/// `GET /auth/login`.
#[tracing::instrument(name = "Login form", skip_all)]
pub async fn login_form(
    page: Page,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if page.user().is_some() {
        return Ok(see_other(after_login(&page, &query)));
    }
    let values = LoginValues {
        username: "",
        remember_me: false,
    };
    render_login(
        &page,
        &query,
        &values,
        &FormErrors::default(),
        StatusCode::OK,
    )
}

/// `POST /auth/login`. Unknown users and wrong passwords take the same path (a hash is always
/// verified) and get the same message.
#[tracing::instrument(name = "Login", skip_all, fields(username = %form.username))]
pub async fn login(
    form: web::Form<LoginForm>,
    page: Page,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let errors = form.check();
    let values = LoginValues {
        username: form.username.trim(),
        remember_me: form.remember_me.is_some(),
    };
    if !errors.is_empty() {
        return render_login(
            &page,
            &query,
            &values,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let client = client_ip(page.request(), &state.settings.trusted_proxies);
    state.rate_limits.login(client, values.username)?;
    let username = values.username.to_string();
    let found = db::run(&state.pool, move |conn| {
        User::find_by_username(conn, &username)
    })
    .await?;
    // The hash is checked after the connection went back to the pool: a flood of logins must
    // not hold the database's connections for the length of a hash.
    let stored_hash = found.as_ref().map(|user| user.password_hash.clone());
    let matches = state.hashers.verify(stored_hash, form.password).await?;
    let user = found.filter(|_| matches);

    let Some(user) = user else {
        tracing::info!("Login refused: invalid username or password");
        let mut errors = FormErrors::default();
        errors.add("form", "Invalid username or password.");
        return render_login(
            &page,
            &query,
            &values,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    log_in(&state, &session, user.id).await?;
    tracing::info!(user_id = user.id, "Logged in");
    let mut response = see_other(after_login(&page, &query));
    if values.remember_me {
        response
            .add_cookie(&remember_browser(&state, user.id).await?)
            .map_err(|error| AppError::unexpected(error))?;
    }
    Ok(response)
}

/// Where a login leads: `next` if it is a page of this site that answers GET, else `/index`.
fn after_login<'a>(page: &Page, query: &'a NextQuery) -> &'a str {
    let target = safe_redirect_target(query.next.as_deref());
    if super::answers_get(page.request(), target) {
        target
    } else {
        "/index"
    }
}

fn render_login(
    page: &Page,
    query: &NextQuery,
    values: &LoginValues,
    errors: &FormErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let next = query.next.as_deref().filter(|next| !next.is_empty());
    let action = match next {
        Some(next) => format!(
            "/auth/login?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        ),
        None => "/auth/login".to_string(),
    };
    let mut context = Context::new();
    context.insert("title", "Sign In");
    context.insert("form", values);
    context.insert("errors", errors);
    context.insert("action", &action);
    context.insert("login_required", &next.is_some());
    page.render("auth/login.html", status, context)
}

/// `POST /auth/logout`: a POST with a CSRF token, so that another site cannot log you out.
#[tracing::instrument(name = "Logout", skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    log_out(&state, &session, &req).await?;
    flash(&session, Level::Info, "You have been logged out.");
    let mut response = see_other("/auth/login");
    response
        .add_removal_cookie(&forget_cookie())
        .map_err(|error| AppError::unexpected(error))?;
    Ok(response)
}

/// The registration form's values as the template shows them (never the passwords).
#[derive(Serialize)]
struct RegistrationValues<'a> {
    username: &'a str,
    email: &'a str,
}

/// `GET /auth/register`.
#[tracing::instrument(name = "Registration form", skip_all)]
pub async fn register_form(page: Page) -> Result<HttpResponse, AppError> {
    if page.user().is_some() {
        return Ok(see_other("/index"));
    }
    let values = RegistrationValues {
        username: "",
        email: "",
    };
    render_register(&page, &values, &FormErrors::default())
}

/// `POST /auth/register`: validates the form, then checks the database for a taken username or
/// email, then inserts; the unique indexes answer the same way for two requests that race.
#[tracing::instrument(name = "Register", skip_all, fields(username = %form.username))]
pub async fn register(
    form: web::Form<RegistrationForm>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let client = client_ip(page.request(), &state.settings.trusted_proxies);
    state.rate_limits.register(client)?;
    let mut form = form.into_inner();
    let mut errors = form.check();
    if errors.is_empty() {
        check_not_taken(&state, &form, &mut errors).await?;
    }
    let RegistrationForm {
        username,
        email,
        password,
        ..
    } = form;
    let values = RegistrationValues {
        username: &username,
        email: &email,
    };
    if !errors.is_empty() {
        return render_register(&page, &values, &errors);
    }

    let password_hash = state.hashers.hash(password).await?;
    let (username, email) = (username.clone(), email.clone());
    let inserted = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let new_user = NewUser {
                username: &username,
                email: &email,
                password_hash: &password_hash,
            };
            User::insert(conn, &new_user)
        })
    })
    .await;
    match inserted {
        Ok(user) => {
            tracing::info!(user_id = user.id, "Registered a new user");
            page.flash(
                Level::Success,
                "Congratulations, you are now a registered user!",
            );
            Ok(see_other("/auth/login"))
        }
        Err(AppError::Taken(field)) => {
            match field {
                UniqueField::Email => errors.add("email", "Please use a different email address."),
                _ => errors.add("username", "Please use a different username."),
            }
            render_register(&page, &values, &errors)
        }
        Err(other) => Err(other),
    }
}

/// The second layer of validation: a username or email address another user already has.
/// (The API's registration asks the same.)
pub async fn check_not_taken(
    state: &AppState,
    form: &RegistrationForm,
    errors: &mut FormErrors,
) -> Result<(), AppError> {
    let (username, email) = (form.username.clone(), form.email.clone());
    let (username_taken, email_taken) = db::run(&state.pool, move |conn| {
        Ok((
            User::username_taken(conn, &username, None)?,
            User::email_taken(conn, &email, None)?,
        ))
    })
    .await?;
    if username_taken {
        errors.add("username", "Please use a different username.");
    }
    if email_taken {
        errors.add("email", "Please use a different email address.");
    }
    Ok(())
}

fn render_register(
    page: &Page,
    values: &RegistrationValues,
    errors: &FormErrors,
) -> Result<HttpResponse, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut context = Context::new();
    context.insert("title", "Register");
    context.insert("form", values);
    context.insert("errors", errors);
    page.render("auth/register.html", status, context)
}
