//! Settings read from the environment once at start and validated there.
//!
//! Every variable is listed, with its default, in `.env.example`. A bad value stops the start with
//! one line that names the variable and what was expected: see [`ConfigError`].

mod env;
mod secret_key;

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::TimeDelta;
use secrecy::SecretString;

use crate::models::SessionLimits;

pub use crate::db::DatabaseUrl;
pub use env::ConfigError;
use env::Env;
pub use secret_key::{SecretKey, DEVELOPMENT_KEY_FILE};

/// Everything the application can be configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Development mode: detailed error page, template reload, no error mails.
    pub debug: bool,
    /// A SQLite file (the default) or a PostgreSQL server.
    pub database_url: DatabaseUrl,
    /// DATABASE_POOL_SIZE: connections each process keeps to the database.
    pub database_pool_size: u32,
    /// DATABASE_TIMEOUT: how long a request waits for a database connection (and so how long a
    /// page takes to answer 503 while the database is down), in seconds.
    pub database_timeout_seconds: u64,
    pub secret_key: SecretKey,
    /// SECRET_KEY_FALLBACKS: older keys, still accepted for verifying while keys rotate.
    pub secret_key_fallbacks: Vec<SecretKey>,
    /// ACCESS_TOKEN_SECONDS: the lifetime of an API access token.
    pub access_token_seconds: i64,
    pub posts_per_page: i64,
    pub log: LogSettings,
    pub mail: MailSettings,
    /// Addresses that receive error mails.
    pub admins: Vec<String>,
    /// Whether the /lab pages that trigger errors on purpose are served: by default in debug
    /// builds (`cargo run`) or with DEBUG=1, never in a release build unless ERROR_LAB=1.
    pub error_lab: bool,
    pub rate_limits: RateLimitSettings,
    /// A request's head, and then its body, must each arrive within this many seconds.
    pub request_timeout_seconds: u64,
    /// SHUTDOWN_TIMEOUT: how long requests in flight (and queued error mails) get to finish once
    /// the process is asked to stop.
    pub shutdown_timeout_seconds: u64,
    /// Proxies whose X-Forwarded-For is believed for the client's address.
    pub trusted_proxies: Vec<IpAddr>,
    /// The Host names served (without port); any other Host gets our 400 page. `*` serves any.
    pub allowed_hosts: Vec<String>,
    /// Mark cookies `Secure`: set this when the site is served over HTTPS.
    pub session_cookie_secure: bool,
    /// A login ends after this many seconds without a request (SESSION_IDLE_SECONDS).
    pub session_idle_seconds: i64,
    /// A login ends this many seconds after it began, however busy (SESSION_MAX_SECONDS).
    pub session_max_seconds: i64,
    /// The site's address as users reach it, for links in mails (never taken from the request's
    /// Host header, which a client can forge to poison reset links).
    pub server_url: String,
    /// Resolved error groups are deleted this many days after they were resolved.
    pub error_retention_days: u32,
    /// Sentry, when SENTRY_DSN is set.
    pub sentry: Option<SentrySettings>,
    /// Where `GET /metrics` listens (never the public port); `None` with METRICS_ADDR=off.
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub jobs: JobSettings,
    /// AVATAR_MAX_BYTES: the largest avatar file accepted (the form's other fields aside).
    pub avatar_max_bytes: usize,
}

/// The rate limits (see `web/rate_limits.rs`); counts per minute for logins, per hour for the
/// rest.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// RATE_LIMITS=0 turns every limit off (benchmarks, tests of bulk traffic).
    pub enabled: bool,
    pub login_per_client: u32,
    pub login_per_account: u32,
    pub register_per_client: u32,
    pub reset_per_client: u32,
    pub reset_per_email: u32,
}

/// Where and how logs are written.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub dir: PathBuf,
    /// An `EnvFilter` directive such as `info` or `microblog=debug,actix_web=info`.
    pub level: String,
    pub format: LogFormat,
    pub max_bytes: u64,
    pub backup_count: usize,
    /// LOG_SPLIT_LEVELS=1: also `info.log`, `warning.log` and `error.log`, each holding exactly
    /// its own level.
    pub split_levels: bool,
    /// DEBUG=1: an unhandled error's chain is written over several lines on the console.
    pub readable_console: bool,
    /// LOG_TO_STDOUT=1: lines go to stdout only (in LOG_FORMAT), no files: for platforms and
    /// log shippers.
    pub to_stdout: bool,
}

/// How the background jobs run (JOB_WORKERS, JOB_MAX_ATTEMPTS, JOB_RETRY_SECONDS,
/// JOB_LEASE_SECONDS).
#[derive(Debug, Clone, Copy)]
pub struct JobSettings {
    /// Workers in this process.
    pub workers: usize,
    /// Attempts before a job is dead.
    pub max_attempts: i32,
    /// The wait after the first failure; each later one doubles it.
    pub first_retry: std::time::Duration,
    /// How long a job stays claimed without its worker renewing the claim.
    pub lease: std::time::Duration,
}

/// Where errors go besides the inbox: a Sentry-compatible server (SENTRY_DSN).
#[derive(Debug, Clone)]
pub struct SentrySettings {
    /// The project's DSN (its key is a credential: it never prints).
    pub dsn: SecretString,
    /// SENTRY_ENVIRONMENT, by default `production` (`development` with DEBUG=1).
    pub environment: String,
}

/// The format of log lines in files and on the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The SMTP server that error mails and password reset mails go through.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// No server means mails are written as `.eml` files to `LOG_DIR/mail/`.
    pub server: Option<String>,
    pub port: u16,
    pub use_tls: bool,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub sender: String,
    /// How long one SMTP exchange may take before it is given up.
    pub timeout_seconds: u64,
    /// Repeats of the same error within this many seconds send no new mail.
    pub error_interval_seconds: u64,
    /// At most this many error mails leave in any one minute.
    pub error_mails_per_minute: u32,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can configure an app without touching the
    /// process environment. An empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let host = env.string("HOST", "127.0.0.1");
        if host.parse::<IpAddr>().is_err() && host != "localhost" {
            return Err(env.invalid("HOST", &host, "an IP address such as 127.0.0.1 or 0.0.0.0"));
        }
        let debug = env.bool("DEBUG", false)?;
        let loopback = host == "localhost"
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        let database_url = DatabaseUrl::parse(&env.string("DATABASE_URL", "microblog.db"));

        let secret_key = env.secret_key()?;
        if secret_key.generated && !debug && !loopback {
            return Err(ConfigError {
                variable: "SECRET_KEY",
                value: "(unset)".to_string(),
                expected: "a key of at least 32 characters in production (DEBUG=0 on a non-loopback HOST), for example the output of `openssl rand -hex 32`".to_string(),
            });
        }

        Ok(Settings {
            port: env.parse("PORT", 8000, "a port number from 0 to 65535")?,
            debug,
            database_url,
            database_pool_size: env.ranged("DATABASE_POOL_SIZE", 8, 1, 1000)?,
            database_timeout_seconds: env.ranged("DATABASE_TIMEOUT", 5, 1, 300)?,
            secret_key,
            secret_key_fallbacks: env.secret_key_fallbacks()?,
            access_token_seconds: env.ranged("ACCESS_TOKEN_SECONDS", 900, 1, 86_400)?,
            posts_per_page: env.ranged("POSTS_PER_PAGE", 25, 1, 100)?,
            log: LogSettings {
                dir: PathBuf::from(env.string("LOG_DIR", "logs")),
                level: env.log_level()?,
                format: match env
                    .string("LOG_FORMAT", "text")
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => return Err(env.invalid("LOG_FORMAT", other, "`text` or `json`")),
                },
                max_bytes: env.ranged("LOG_MAX_BYTES", 1_048_576, 1024, u64::MAX)?,
                backup_count: env.ranged("LOG_BACKUP_COUNT", 5, 0, 1000)?,
                split_levels: env.bool("LOG_SPLIT_LEVELS", false)?,
                readable_console: debug,
                to_stdout: env.bool("LOG_TO_STDOUT", false)?,
            },
            mail: MailSettings {
                server: env.optional("MAIL_SERVER"),
                port: env.parse("MAIL_PORT", 25, "a port number from 1 to 65535")?,
                use_tls: env.bool("MAIL_USE_TLS", false)?,
                username: env.optional("MAIL_USERNAME"),
                password: env.optional("MAIL_PASSWORD").map(SecretString::from),
                sender: env.string("MAIL_SENDER", "microblog@localhost"),
                timeout_seconds: env.ranged("MAIL_TIMEOUT", 5, 1, 300)?,
                error_interval_seconds: env.ranged("ERROR_MAIL_INTERVAL", 60, 0, 86_400)?,
                error_mails_per_minute: env.ranged("ERROR_MAILS_PER_MINUTE", 10, 1, 10_000)?,
            },
            admins: env.admins()?,
            error_lab: env.bool("ERROR_LAB", lab_by_default(cfg!(debug_assertions), debug))?,
            allowed_hosts: env.allowed_hosts(&host)?,
            rate_limits: RateLimitSettings {
                enabled: env.bool("RATE_LIMITS", true)?,
                login_per_client: env.ranged("RATE_LIMIT_LOGIN_PER_CLIENT", 20, 1, 100_000)?,
                login_per_account: env.ranged("RATE_LIMIT_LOGIN_PER_ACCOUNT", 10, 1, 100_000)?,
                register_per_client: env.ranged(
                    "RATE_LIMIT_REGISTER_PER_CLIENT",
                    10,
                    1,
                    100_000,
                )?,
                reset_per_client: env.ranged("RATE_LIMIT_RESET_PER_CLIENT", 10, 1, 100_000)?,
                reset_per_email: env.ranged("RATE_LIMIT_RESET_PER_EMAIL", 3, 1, 100_000)?,
            },
            trusted_proxies: env.trusted_proxies()?,
            request_timeout_seconds: env.ranged("REQUEST_TIMEOUT", 10, 1, 300)?,
            shutdown_timeout_seconds: env.ranged("SHUTDOWN_TIMEOUT", 10, 1, 300)?,
            session_cookie_secure: env.bool("SESSION_COOKIE_SECURE", false)?,
            session_idle_seconds: env.ranged(
                "SESSION_IDLE_SECONDS",
                7 * 86_400,
                1,
                365 * 86_400,
            )?,
            session_max_seconds: env.ranged("SESSION_MAX_SECONDS", 30 * 86_400, 1, 365 * 86_400)?,
            server_url: env.server_url(&host)?,
            error_retention_days: env.ranged("ERROR_RETENTION_DAYS", 30, 0, 36_500)?,
            sentry: env.sentry(debug)?,
            metrics_addr: env.metrics_addr()?,
            jobs: JobSettings {
                workers: env.ranged("JOB_WORKERS", 2, 0, 64)?,
                max_attempts: env.ranged("JOB_MAX_ATTEMPTS", 5, 1, 100)?,
                first_retry: std::time::Duration::from_secs(env.ranged(
                    "JOB_RETRY_SECONDS",
                    10,
                    0,
                    86_400,
                )?),
                lease: std::time::Duration::from_secs(env.ranged(
                    "JOB_LEASE_SECONDS",
                    30,
                    3,
                    3600,
                )?),
            },
            avatar_max_bytes: env.ranged(
                "AVATAR_MAX_BYTES",
                2 * 1024 * 1024,
                1024,
                64 * 1024 * 1024,
            )?,
            host,
        })
    }

    /// How long a request's head, and then its body, may take to arrive.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout_seconds)
    }

    /// How long a request waits for a database connection.
    pub fn database_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.database_timeout_seconds)
    }

    /// How long a login lasts.
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle: TimeDelta::seconds(self.session_idle_seconds),
            absolute: TimeDelta::seconds(self.session_max_seconds),
        }
    }

    /// The address to bind, as `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The lab's default: on for a debug build or DEBUG=1. A release build behind a proxy reaches
/// the app from a loopback address, so the address cannot tell development from production.
fn lab_by_default(debug_build: bool, debug: bool) -> bool {
    debug_build || debug
}

#[cfg(test)]
mod tests;
