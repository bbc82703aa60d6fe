//! [`Page`]: what every HTML page needs (the current user, flash messages, the CSRF token, the
//! request id), gathered once per request, and the one way handlers render a template.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::{header, Method, StatusCode, Uri};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use tera::Context;

use super::flash::{self, Level};
use super::hosts::host_of;
use super::login::{current_user, current_user_and};
use super::request::request_id;
use super::state::{app_state, AppState};
use crate::db::DbConnection;
use crate::errors::AppError;
use crate::models::User;

/// The request as a page sees it. Extract it in any handler that renders HTML.
pub struct Page {
    req: HttpRequest,
    user: Option<User>,
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = current_user(&req).await?;
            Ok(Page { req, user })
        })
    }
}

impl Page {
    /// The page for `req` and what it shows, read in one trip to the database: `query` runs
    /// for the logged-in user (if any) with the connection that looked them up. For a handler
    /// whose query needs the user, this replaces the `Page` extractor and saves a hand-off.
    pub async fn load<T, F>(req: &HttpRequest, query: F) -> Result<(Page, T), AppError>
    where
        F: FnOnce(&mut DbConnection, Option<&User>) -> Result<T, AppError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let (user, shown) = current_user_and(req, query).await?;
        let page = Page {
            req: req.clone(),
            user,
        };
        Ok((page, shown))
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The logged-in user, or a redirect to the login page that comes back here afterwards.
    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or_else(|| AppError::LoginRequired {
            next: self.page_to_return_to(),
        })
    }

    /// The logged-in admin: anyone else is sent to the login page, or gets our 403 page.
    pub fn require_admin(&self) -> Result<&User, AppError> {
        let user = self.require_user()?;
        if user.role == "admin" {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Where a login should lead back to: this page, for a GET. A POST cannot be replayed by a
    /// redirect (it would land on a 405), so it goes back to the page the form was on (the
    /// Referer, when it is on this site), or home.
    fn page_to_return_to(&self) -> String {
        if self.req.method() == Method::GET {
            return match self.req.uri().path_and_query() {
                Some(path) => path.as_str().to_string(),
                None => self.req.path().to_string(),
            };
        }
        let host = host_of(&self.req).unwrap_or_default().to_string();
        self.req
            .headers()
            .get(header::REFERER)
            .and_then(|value| value.to_str().ok())
            .and_then(|referer| referer.parse::<Uri>().ok())
            .filter(|uri| uri.authority().is_some_and(|a| a.as_str() == host))
            .and_then(|uri| uri.path_and_query().map(|path| path.as_str().to_string()))
            .unwrap_or_else(|| "/index".to_string())
    }

    /// Queues a message for the next page shown to this user.
    pub fn flash(&self, level: Level, text: impl Into<String>) {
        flash::flash(&self.req.get_session(), level, text);
    }

    /// The request this page answers.
    pub fn request(&self) -> &HttpRequest {
        &self.req
    }

    /// This request's id.
    pub fn request_id(&self) -> String {
        request_id(&self.req)
    }

    /// Renders `template` with `context` plus the shared values, answering `status`.
    pub fn render(
        &self,
        template: &str,
        status: StatusCode,
        mut context: Context,
    ) -> Result<HttpResponse, AppError> {
        let state = app_state(&self.req)?;
        let session = self.req.get_session();
        context.extend(base_context(
            &session,
            &request_id(&self.req),
            Some(state),
            self.user.as_ref(),
        ));
        // Taken only now that a page shows them: a redirect does not lose them.
        context.insert("flashes", &flash::take(&session));
        let html = state.templates.render_page(template, &context)?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html))
    }
}

/// The values `base.html` uses, for any page including the error pages.
pub fn base_context(
    session: &Session,
    request_id: &str,
    state: Option<&AppState>,
    user: Option<&User>,
) -> Context {
    #[derive(Serialize)]
    struct CurrentUser<'a> {
        username: &'a str,
        avatar: String,
    }
    let mut context = Context::new();
    context.insert(
        "current_user",
        &user.map(|user| CurrentUser {
            username: &user.username,
            avatar: state
                .map(|state| {
                    let version = user.avatar_version.as_deref();
                    state.avatar_key.of(user.id, &user.email, version, 24)
                })
                .unwrap_or_default(),
        }),
    );
    // A page without a token simply has no working forms; that must not turn it into an error.
    let csrf_token = super::csrf::token(session).unwrap_or_default();
    context.insert("csrf_token", &csrf_token);
    context.insert("request_id", request_id);
    if let Some(state) = state {
        if user.is_some_and(|user| user.role == "admin") {
            // From the last count (every second), so no page waits for a query.
            context.insert("unresolved_errors", &state.error_reporter.unresolved());
        }
        context.insert("lab_enabled", &state.settings.error_lab);
        context.insert("debug", &state.settings.debug);
    }
    context
}
