//! What one request knows about itself: its id, and a [`RequestScope`] for what it learns on the
//! way (the logged-in user, the form it posted).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::HttpMessage;
use tracing_actix_web::RequestId;

use crate::models::User;

/// This request's id, as sent in the `X-Request-Id` header and written on its log lines.
pub fn request_id(req: &impl HttpMessage) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// When the request started (set by the tracing root span), to measure its latency.
#[derive(Debug, Clone, Copy)]
pub struct RequestStart(pub Instant);

/// What a request has learned about itself on the way: the user it was made by and the form
/// fields it posted (secrets redacted).
///
/// Kept behind an `Rc` that the panic middleware holds too: when a handler panics, actix drops
/// the request, and the 500 page and the error mail still need to say who and what it was.
#[derive(Default)]
pub struct RequestScope {
    /// `None` until the user has been looked up; then the user, if anyone is logged in.
    user: RefCell<Option<Option<User>>>,
    form: RefCell<Vec<(String, String)>>,
}

impl RequestScope {
    /// The scope of `req`, made on first use.
    pub fn of(req: &impl HttpMessage) -> Rc<RequestScope> {
        if let Some(scope) = req.extensions().get::<Rc<RequestScope>>() {
            return scope.clone();
        }
        let scope = Rc::new(RequestScope::default());
        req.extensions_mut().insert(scope.clone());
        scope
    }

    /// The user looked up earlier in this request: `None` if nobody has looked yet.
    pub fn loaded_user(&self) -> Option<Option<User>> {
        self.user.borrow().clone()
    }

    /// The logged-in user, if one was looked up and found.
    pub fn user(&self) -> Option<User> {
        self.user.borrow().clone().flatten()
    }

    /// Records who made this request (or that nobody is logged in).
    pub fn set_user(&self, user: Option<User>) {
        *self.user.borrow_mut() = Some(user);
    }

    /// The form fields this request posted, secrets already redacted.
    pub fn form(&self) -> Vec<(String, String)> {
        self.form.borrow().clone()
    }

    /// Records the posted form fields (the caller redacts them first).
    pub fn set_form(&self, fields: Vec<(String, String)>) {
        *self.form.borrow_mut() = fields;
    }
}
