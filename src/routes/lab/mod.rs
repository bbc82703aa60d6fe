//! The error lab: buttons that break the site on purpose, so that every lesson of error handling
//! can be seen from the browser. Its routes exist only while ERROR_LAB is on (`configure`), so
//! it never ships to production by accident.
//!
//! `experiments.rs` holds one small handler per idea (`token_experiments.rs` the API's,
//! `tracking_experiments.rs` the error inbox's), each with its card in
//! `templates/lab/experiments/`; `logs.rs` reads back what one request left in the logs and the
//! outbox.

mod experiments;
mod job_experiments;
mod logs;
mod outcome;
mod token_experiments;
mod tracking_experiments;
mod upload_experiments;

use actix_web::http::StatusCode;
use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::errors::AppError;
use crate::jobs::kinds;
use crate::web::forms::form_config;
use crate::web::page::Page;
use crate::web::state::AppState;
pub use logs::logs;

/// The experiments, named in URLs as `/lab/<kebab-case name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    Panic,
    DbError,
    NotFound,
    FileNotFound,
    BadInput,
    TemplateError,
    ExternalApi,
    Slow,
    BackgroundTask,
    MailDown,
    LogLevels,
    Forbidden,
    TooLarge,
    RateLimit,
    ExpiredToken,
    TamperedToken,
    WrongRole,
    Regression,
    JobRetry,
    JobDead,
    JobSlow,
    UploadTooLarge,
    UploadNotAnImage,
    UploadBomb,
    UploadStorageFails,
}

impl Experiment {
    /// Every experiment, in the order the lab shows them.
    pub const ALL: [Experiment; 25] = [
        Experiment::Panic,
        Experiment::DbError,
        Experiment::NotFound,
        Experiment::FileNotFound,
        Experiment::BadInput,
        Experiment::TemplateError,
        Experiment::ExternalApi,
        Experiment::Slow,
        Experiment::BackgroundTask,
        Experiment::MailDown,
        Experiment::LogLevels,
        Experiment::Forbidden,
        Experiment::TooLarge,
        Experiment::RateLimit,
        Experiment::ExpiredToken,
        Experiment::TamperedToken,
        Experiment::WrongRole,
        Experiment::Regression,
        Experiment::JobRetry,
        Experiment::JobDead,
        Experiment::JobSlow,
        Experiment::UploadTooLarge,
        Experiment::UploadNotAnImage,
        Experiment::UploadBomb,
        Experiment::UploadStorageFails,
    ];

    /// The name in URLs and templates, as serde writes it (`db-error`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The template of this experiment's card.
    pub fn card_template(self) -> String {
        format!("lab/experiments/{}.html", self.name())
    }

    /// Runs the experiment.
    pub async fn run(
        self,
        fields: &HashMap<String, String>,
        page: &Page,
        state: &AppState,
    ) -> Result<HttpResponse, AppError> {
        match self {
            Experiment::Panic => experiments::panic(),
            Experiment::DbError => experiments::db_error(page, state).await,
            Experiment::NotFound => experiments::not_found(state).await,
            Experiment::FileNotFound => experiments::file_not_found().await,
            Experiment::BadInput => experiments::bad_input(page, fields),
            Experiment::TemplateError => experiments::template_error(page),
            Experiment::ExternalApi => experiments::external_api(page).await,
            Experiment::Slow => experiments::slow(page).await,
            Experiment::BackgroundTask => experiments::background_task(page, state).await,
            Experiment::MailDown => experiments::mail_down(page, state).await,
            Experiment::LogLevels => experiments::log_levels(page, state),
            Experiment::Forbidden => Err(AppError::Forbidden),
            Experiment::RateLimit => experiments::rate_limit(page, state),
            Experiment::ExpiredToken => token_experiments::expired_token(state),
            Experiment::TamperedToken => token_experiments::tampered_token(state),
            Experiment::WrongRole => token_experiments::wrong_role(state),
            Experiment::Regression => tracking_experiments::regression(state).await,
            Experiment::JobRetry => job_experiments::queue(page, state, kinds::LAB_RETRY).await,
            Experiment::JobDead => job_experiments::queue(page, state, kinds::LAB_DEAD).await,
            Experiment::JobSlow => job_experiments::queue(page, state, kinds::LAB_SLOW).await,
            Experiment::UploadTooLarge => upload_experiments::too_large(page, state).await,
            Experiment::UploadNotAnImage => upload_experiments::not_an_image(page, state).await,
            Experiment::UploadBomb => upload_experiments::bomb(page, state).await,
            Experiment::UploadStorageFails => upload_experiments::storage_fails(page, state).await,
            Experiment::TooLarge => {
                outcome::result(page, "too-large", "The body fitted under the limit.", None)
            }
        }
    }
}

/// The lab's routes.
pub fn configure(config: &mut web::ServiceConfig) {
    // One scope, so that a path outside /lab is not matched against every lab route.
    config.service(
        web::scope("/lab")
            .service(web::resource("").route(web::get().to(lab)))
            .service(web::resource("/logs").route(web::get().to(logs)))
            .service(
                web::resource("/too-large")
                    .app_data(form_config(1024))
                    .route(web::post().to(too_large)),
            )
            .service(web::resource("/{experiment}").route(web::post().to(run))),
    );
}

/// `GET /lab`: one card per experiment.
#[tracing::instrument(name = "Lab", skip_all)]
pub async fn lab(page: Page, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let csrf_token =
        crate::web::csrf::token(&actix_session::SessionExt::get_session(page.request()))?;
    let cards = Experiment::ALL
        .iter()
        .map(|experiment| {
            let mut card = Context::new();
            card.insert("name", &experiment.name());
            card.insert("csrf_token", &csrf_token);
            state.templates.render(&experiment.card_template(), &card)
        })
        .collect::<Result<Vec<String>, AppError>>()?;
    let mut context = Context::new();
    context.insert("title", "Error lab");
    context.insert("cards", &cards);
    context.insert("log_level", &state.settings.log.level);
    context.insert("mail", &state.mailer.description);
    page.render("lab/index.html", StatusCode::OK, context)
}

/// The fields of every experiment's form (the lab's forms send whatever they like).
type ExperimentForm = web::Form<HashMap<String, String>>;

/// `POST /lab/<experiment>`: runs one experiment. An unknown name does not deserialise into an
/// [`Experiment`], which actix answers with a 404.
#[tracing::instrument(name = "Lab experiment", skip(page, state, form))]
pub async fn run(
    form: ExperimentForm,
    page: Page,
    state: web::Data<AppState>,
    experiment: web::Path<Experiment>,
) -> Result<HttpResponse, AppError> {
    experiment.run(&form, &page, &state).await
}

/// `POST /lab/too-large`, which `configure` gives a 1 KiB body limit: the button's 2 KiB form
/// is refused with 413 before this runs.
#[tracing::instrument(name = "Lab experiment too-large", skip_all)]
pub async fn too_large(
    form: ExperimentForm,
    page: Page,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Experiment::TooLarge.run(&form, &page, &state).await
}
