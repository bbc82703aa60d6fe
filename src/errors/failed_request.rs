//! [`FailedRequest`]: what an error page, its log line and its report know about the request
//! that failed, kept apart from the request itself (a panic drops it).

use std::net::IpAddr;
use std::rc::Rc;

use actix_session::{Session, SessionExt};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, Uri};
use actix_web::{web, HttpMessage, HttpRequest};

use super::redact;
use super::report::ErrorReport;
use super::AppError;
use crate::web::client::client_ip;
use crate::web::login::user_of_session;
use crate::web::request::{request_id, RequestScope, RequestStart};
use crate::web::state::AppState;

/// What an error page needs to know about the request it answers. `middleware.rs` reads it from
/// the request when a response fails, or keeps it before the call for when a panic drops the
/// request: the scope is shared, so the user and the form the request learns about later are
/// known either way.
pub struct FailedRequest {
    pub id: String,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub client: Option<IpAddr>,
    pub started: Option<RequestStart>,
    /// The route that matched (its pattern, such as `/user/{username}`), if any.
    pub route: Option<String>,
    state: Option<web::Data<AppState>>,
    pub(super) session: Session,
    pub(super) scope: Rc<RequestScope>,
}

impl FailedRequest {
    /// What is known of `req` now.
    pub fn of(req: &HttpRequest) -> Self {
        let started = req.extensions().get::<RequestStart>().copied();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let trusted = state
            .as_ref()
            .map(|state| state.settings.trusted_proxies.as_slice())
            .unwrap_or_default();
        let client = client_ip(req, trusted);
        FailedRequest {
            id: request_id(req),
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
            client,
            started,
            route: req.match_pattern(),
            state,
            session: req.get_session(),
            scope: RequestScope::of(req),
        }
    }

    pub(super) fn state(&self) -> Option<&AppState> {
        self.state.as_ref().map(|state| state.get_ref())
    }

    /// Whether the process is draining (its responses close their connections).
    pub fn draining(&self) -> bool {
        self.state()
            .is_some_and(|state| state.draining.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Whether the site is served over HTTPS (SESSION_COOKIE_SECURE=1), for HSTS.
    pub fn https(&self) -> bool {
        self.state()
            .is_some_and(|state| state.settings.session_cookie_secure)
    }

    pub(super) fn path(&self) -> &str {
        self.uri.path()
    }

    /// Looks up the logged-in user if nobody has yet: a handler that panicked, or failed,
    /// before asking still gets a report that names who made the request.
    pub async fn load_user(&self) {
        if self.scope.loaded_user().is_some() {
            return;
        }
        let Some(state) = &self.state else { return };
        if let Ok(user) = user_of_session(state, &self.session).await {
            self.scope.set_user(user);
        }
    }

    /// The report of `error` while serving this request, for the development page and the mail.
    pub(super) fn report(&self, error: Option<&AppError>, fallback: &str) -> ErrorReport {
        let mut report = ErrorReport::from_error(error, fallback);
        if report.place.is_empty() {
            // Not one of our errors (actix's own, or a fork's): its route is the place, never
            // its message, which may hold what the client sent.
            let route = self.route.as_deref().unwrap_or("(no route)");
            report.place = format!("failure at route {route}");
        }
        report.id = self.id.clone();
        report.method = self.method.to_string();
        // Every value a client chose is written on one line: none can forge a line in the mail.
        report.path = redact::one_line(&redact::url_text(self.path()));
        report.query = redact::query(self.uri.query().unwrap_or(""));
        report.user = self
            .scope
            .user()
            .map(|user| format!("{} (id {})", redact::one_line(&user.username), user.id))
            .unwrap_or_else(|| "anonymous".to_string());
        report.user_id = self.scope.user().map(|user| user.id);
        report.client = self
            .client
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".to_string());
        report.headers = one_line_pairs(redact::headers(&self.headers));
        report.form = one_line_pairs(self.scope.form());
        report
    }
}

fn one_line_pairs(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(name, value)| (redact::one_line(&name), redact::one_line(&value)))
        .collect()
}
