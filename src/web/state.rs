//! [`AppState`]: what every handler can reach, registered once as `web::Data<AppState>`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix_web::{web, HttpRequest};

use super::display::AvatarKey;
use super::rate_limits::RateLimits;
use crate::access_tokens::AccessTokens;
use crate::config::Settings;
use crate::db::DbPool;
use crate::errors::AppError;
use crate::mail::error_reports::ErrorReporter;
use crate::mail::reset_mails::ResetMails;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::password::Hashers;
use crate::templates::Templates;
use crate::tokens::Signer;

/// The shared state of the application.
pub struct AppState {
    pub pool: DbPool,
    pub templates: Arc<Templates>,
    pub settings: Settings,
    /// Issues and checks the API's access tokens.
    pub access_tokens: AccessTokens,
    /// Keys the avatars' digests.
    pub avatar_key: AvatarKey,
    /// Verifies password reset links (the sender in `reset_mails` signs them).
    pub reset: Signer,
    /// Queues password reset mails, sent in the background.
    pub reset_mails: ResetMails,
    /// Where mails go (for the lab's pages).
    pub mailer: Arc<Mailer>,
    /// The rate limits.
    pub rate_limits: Arc<RateLimits>,
    /// The password hashing threads and their bounded queue.
    pub hashers: Hashers,
    /// Set when the process was asked to stop: `/readyz` answers 503 and responses close their
    /// connections, while requests in flight finish.
    pub draining: Arc<AtomicBool>,
    /// Mails unhandled errors to the admins, off the request path.
    pub error_reporter: Arc<ErrorReporter>,
    /// The counters, gauges and histograms behind `/metrics` and `/admin/status`.
    pub metrics: Arc<Metrics>,
}

/// The shared application state registered in `startup.rs`.
pub fn app_state(req: &HttpRequest) -> Result<&AppState, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("AppState is not registered")))
}
