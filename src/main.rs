//! `microblog` serves the site; `microblog seed` fills the database with demo data;
//! `microblog admin <username>` grants the admin role.

use std::process::ExitCode;

use microblog::config::Settings;
use microblog::startup::Application;
use microblog::{admin, seed, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    // A missing .env is normal; the defaults serve a fresh checkout.
    let _ = dotenvy::dotenv();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("microblog: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = Settings::from_env()?;
    let _telemetry = telemetry::init(&settings.log);
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("seed") => return Ok(seed::run(&settings)?),
        Some("admin") => return Ok(admin::grant(&settings, std::env::args().nth(2))?),
        Some(other) => {
            return Err(format!(
                "unknown command {other:?}: try `seed`, `admin <username>` or nothing"
            )
            .into())
        }
    }
    if let Some(warning) = settings.keep_development_key() {
        tracing::warn!("{warning}");
    }
    let application = Application::build(settings.clone()).await?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        address = %format!("http://{}:{}", settings.host, application.port()),
        debug = settings.debug,
        database = %settings.database_url,
        log_dir = %settings.log.dir.display(),
        log_level = %settings.log.level,
        log_format = ?settings.log.format,
        mail = %application.mail_description(),
        open_files = %application.open_files(),
        admins = %settings.admins.join(","),
        lab = settings.error_lab,
        metrics = %application
            .metrics_address()
            .map_or("off".to_string(), |address| format!("http://{address}/metrics")),
        "Microblog startup"
    );
    application.run_until_stopped().await?;
    tracing::info!("Microblog shutdown");
    Ok(())
}
