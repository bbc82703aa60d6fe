//! Errors the team can see and act on: the error inbox in the app's own database, and Sentry
//! when SENTRY_DSN is set.
//!
//! - [`fingerprint`]: how failures are grouped (the error's kind and the place in our code).
//! - [`counting`]: the one count behind the inbox and the error mails, off the request path.
//! - [`inbox`]: the groups an admin reads, resolves, mutes and reopens; retention.
//! - [`sentry`]: the same failures as Sentry events, redacted, never on a page's clock.
//!
//! The admin pages are `routes/admin/errors.rs`; their JSON is `routes/api/admin_errors.rs`.

pub mod counting;
pub mod fingerprint;
pub mod inbox;
pub mod sentry;
