//! Builds the application: shared state, middleware order, and every route in one chain.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_files::Files;
use actix_router::IntoPatterns;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::BoxBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer, Resource};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::error_pages::render_error_pages;
use crate::mail::error_reports::ErrorReporter;
use crate::mail::{MailSetupError, Mailer};
use crate::routes::{auth, avatar, health, lab, password_reset, posts, users};
use crate::telemetry::{request_id_header, set_nodelay, MicroblogRootSpan};
use crate::templates::Templates;
use crate::tokens::{derive_key, Signer};
use crate::{panics, routes};

/// Largest request body accepted (forms are small; more is answered with 413).
const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach, registered once as `web::Data<AppState>`.
pub struct AppState {
    pub pool: DbPool,
    pub templates: Templates,
    pub settings: Settings,
    /// Signs remember-me cookies.
    pub remember: Signer,
    /// Signs password reset links.
    pub reset: Signer,
    /// Sends password reset mails (error mails go through `error_reporter`).
    pub mailer: Arc<Mailer>,
    /// Mails unhandled errors to the admins, off the request path.
    pub error_reporter: Arc<ErrorReporter>,
}

/// Why the application could not start. Each message is one line naming what to change.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DatabaseSetupError),
    #[error("templates/: a template could not be compiled ({0})")]
    Templates(String),
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    #[error("HOST/PORT: cannot listen on {address} ({source})")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// A resource whose handlers' panics are answered with our 500 page (see `panics.rs`).
fn resource(
    path: impl IntoPatterns,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(from_fn(panics::catch_panics))
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    mail: String,
}

impl Application {
    /// Opens and migrates the database, compiles the templates, binds the listener (port 0
    /// picks a free port, as the tests do) and builds the server.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = db::connect(&settings.database_url, 8)?;
        let templates = Templates::load("templates", settings.debug)
            .map_err(|e| StartupError::Templates(format!("{e:?}").replace('\n', " ")))?;
        let address = settings.address();
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        panics::install_hook();

        let mailer = Arc::new(Mailer::new(&settings.mail, &settings.log.dir)?);
        let error_reporter = ErrorReporter::start(
            mailer.clone(),
            settings.admins.clone(),
            Duration::from_secs(settings.mail.error_interval_seconds),
            settings.mail.error_mails_per_minute,
            !settings.debug,
        );
        let mail = mailer.description.clone();

        let secret = settings.secret_key.expose();
        let session_key = Key::from(&derive_key(secret, "session"));
        let secure_cookies = settings.session_cookie_secure;
        let lab_enabled = settings.error_lab;
        let state = web::Data::new(AppState {
            remember: Signer::new(secret, "remember"),
            reset: Signer::new(secret, "reset"),
            mailer,
            error_reporter,
            pool,
            templates,
            settings,
        });

        let server = HttpServer::new(move || {
            let sessions =
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    .cookie_name("microblog_session".to_string())
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_secure(secure_cookies)
                    .build();
            // The last `wrap` is the outermost: tracing sees everything, and error pages see the
            // session (for the navigation). Panics are caught per resource (`resource` below).
            App::new()
                .wrap(from_fn(render_error_pages))
                .wrap(sessions)
                .wrap(from_fn(request_id_header))
                .wrap(TracingLogger::<MicroblogRootSpan>::new())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(web::FormConfig::default().limit(BODY_LIMIT))
                .service(
                    resource(["/", "/index"])
                        .route(web::get().to(posts::index))
                        .route(web::post().to(posts::publish)),
                )
                .service(resource("/explore").route(web::get().to(posts::explore)))
                .service(resource("/search").route(web::get().to(posts::search)))
                .service(resource("/user/{username}").route(web::get().to(users::user)))
                .service(
                    resource("/edit_profile")
                        .route(web::get().to(users::edit_profile_form))
                        .route(web::post().to(users::edit_profile)),
                )
                .service(resource("/follow/{username}").route(web::post().to(users::follow)))
                .service(resource("/unfollow/{username}").route(web::post().to(users::unfollow)))
                .service(
                    resource("/auth/register")
                        .route(web::get().to(auth::register_form))
                        .route(web::post().to(auth::register)),
                )
                .service(
                    resource("/auth/login")
                        .route(web::get().to(auth::login_form))
                        .route(web::post().to(auth::login)),
                )
                .service(resource("/auth/logout").route(web::post().to(auth::logout)))
                .service(
                    resource("/auth/reset_password_request")
                        .route(web::get().to(password_reset::request_form))
                        .route(web::post().to(password_reset::request)),
                )
                .service(
                    resource("/auth/reset_password/{token}")
                        .route(web::get().to(password_reset::reset_form))
                        .route(web::post().to(password_reset::reset)),
                )
                .service(resource("/avatar/{digest}").route(web::get().to(avatar::avatar)))
                .service(resource("/healthz").route(web::get().to(health::healthz)))
                .configure(|config| {
                    // Without ERROR_LAB the lab's routes do not exist: every /lab URL is a 404.
                    if lab_enabled {
                        config
                            .service(resource("/lab").route(web::get().to(lab::lab)))
                            .service(resource("/lab/logs").route(web::get().to(lab::logs)))
                            .service(
                                resource("/lab/too-large")
                                    .app_data(web::PayloadConfig::new(1024))
                                    .route(web::post().to(lab::too_large)),
                            )
                            .service(resource("/lab/{experiment}").route(web::post().to(lab::run)));
                    }
                })
                .service(Files::new("/static", "static"))
                .default_service(web::to(routes::not_found))
        })
        .on_connect(set_nodelay)
        .listen(listener)
        .map_err(bind_error)?
        .run();
        Ok(Application { port, server, mail })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where mails go, for the startup line.
    pub fn mail_description(&self) -> &str {
        &self.mail
    }

    /// Serves until the process is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
