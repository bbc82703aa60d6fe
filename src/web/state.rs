//! [`AppState`]: what every handler can reach, registered once as `web::Data<AppState>`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix_web::{web, HttpRequest};

use super::display::AvatarKey;
use super::post_fragments::PostFragments;
use super::rate_limits::RateLimits;
use crate::access_tokens::AccessTokens;
use crate::config::Settings;
use crate::db::DbPool;
use crate::errors::AppError;
use crate::jobs::kinds;
use crate::jobs::worker::Jobs;
use crate::mail::error_reports::ErrorReporter;
use crate::mail::reset_mails::{ResetMailSettings, ResetMails};
use crate::mail::MailSetupError;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::password::Hashers;
use crate::templates::Templates;
use crate::tokens::Signer;
use crate::uploads::turns::UploadTurns;

/// The shared state of the application.
pub struct AppState {
    pub pool: DbPool,
    pub templates: Arc<Templates>,
    pub settings: Settings,
    /// Issues and checks the API's access tokens.
    pub access_tokens: AccessTokens,
    /// Keys the avatars' digests.
    pub avatar_key: AvatarKey,
    /// Posts rendered once and kept for the next page that shows them.
    pub post_fragments: PostFragments,
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
    /// The background jobs' queue and workers.
    pub jobs: Arc<Jobs>,
    /// Turns to receive uploads: a few at once, one per user.
    pub upload_turns: UploadTurns,
}

/// The state every handler shares: the mailers (and the error reporter's task) and the signing
/// keys, each derived from SECRET_KEY for its own purpose.
impl AppState {
    pub fn new(
        settings: Settings,
        pool: DbPool,
        templates: Arc<Templates>,
        metrics: Arc<Metrics>,
    ) -> Result<AppState, MailSetupError> {
        let mailer = Arc::new(Mailer::new(&settings.mail, &settings.log.dir)?);
        let error_reporter = ErrorReporter::start(
            mailer.clone(),
            templates.clone(),
            &settings,
            pool.clone(),
            metrics.clone(),
        );
        let secret = settings.secret_key.expose();
        let fallbacks: Vec<&[u8]> = settings
            .secret_key_fallbacks
            .iter()
            .map(|key| key.expose())
            .collect();
        let reset = Signer::with_fallbacks(secret, &fallbacks, "reset");
        let reset_mails = ResetMails::start(ResetMailSettings {
            pool: pool.clone(),
            mailer: mailer.clone(),
            templates: templates.clone(),
            signer: reset.clone(),
            server_url: settings.server_url.clone(),
        });
        let jobs = Jobs::start(
            settings.jobs,
            pool.clone(),
            error_reporter.clone(),
            kinds::runner(pool.clone(), mailer.clone()),
            metrics.clone(),
        );
        Ok(AppState {
            jobs,
            upload_turns: UploadTurns::default(),
            avatar_key: AvatarKey::new(secret),
            post_fragments: PostFragments::new(AvatarKey::new(secret)),
            access_tokens: AccessTokens::new(secret, &fallbacks, settings.access_token_seconds),
            reset,
            reset_mails,
            hashers: Hashers::start(metrics.hashing_refusals.clone()),
            draining: Arc::new(AtomicBool::new(false)),
            rate_limits: RateLimits::start(&settings.rate_limits, &metrics),
            metrics,
            mailer,
            error_reporter,
            pool,
            templates,
            settings,
        })
    }
}

/// The shared application state registered in `startup.rs`.
pub fn app_state(req: &HttpRequest) -> Result<&AppState, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("AppState is not registered")))
}
