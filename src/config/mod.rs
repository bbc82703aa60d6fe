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
    /// Path of the SQLite file (a leading `sqlite://` is accepted and removed).
    pub database_url: String,
    pub secret_key: SecretKey,
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
        let database_url = env.string("DATABASE_URL", "microblog.db");
        let database_url = database_url
            .strip_prefix("sqlite://")
            .unwrap_or(&database_url)
            .to_string();

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
            secret_key,
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
            session_cookie_secure: env.bool("SESSION_COOKIE_SECURE", false)?,
            session_idle_seconds: env.ranged(
                "SESSION_IDLE_SECONDS",
                7 * 86_400,
                1,
                365 * 86_400,
            )?,
            session_max_seconds: env.ranged("SESSION_MAX_SECONDS", 30 * 86_400, 1, 365 * 86_400)?,
            server_url: env.server_url(&host)?,
            host,
        })
    }

    /// How long a request's head, and then its body, may take to arrive.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout_seconds)
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

/// The settings whose reading needs more than a type: each names its variable when refused.
impl Env<'_> {
    fn server_url(&self, host: &str) -> Result<String, ConfigError> {
        let port = self.string("PORT", "8000");
        let default = format!("http://{host}:{port}");
        let url = self.string("SERVER_URL", &default);
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.trim_end_matches('/').to_string())
        } else {
            Err(self.invalid(
                "SERVER_URL",
                &url,
                "an http:// or https:// address such as https://microblog.example",
            ))
        }
    }

    /// LOG_LEVEL: a level name (Flask's `warning` and `critical` too), or RUST_LOG-style
    /// directives, which are told apart by their `=` or `,` (`info,microblog=debug`). A lone word
    /// that is no level (`loud`) would silently read as a module name: it is refused.
    fn log_level(&self) -> Result<String, ConfigError> {
        let raw = self.string("LOG_LEVEL", "info");
        let lower = raw.to_ascii_lowercase();
        match lower.as_str() {
            "trace" | "debug" | "info" | "warn" | "error" | "off" => Ok(lower),
            "warning" => Ok("warn".to_string()),
            "critical" => Ok("error".to_string()),
            _ if raw.contains(['=', ','])
                && tracing_subscriber::EnvFilter::builder()
                    .parse(&raw)
                    .is_ok() =>
            {
                Ok(raw)
            }
            _ => Err(self.invalid(
                "LOG_LEVEL",
                &raw,
                "trace, debug, info, warn (or warning), error (or critical), or RUST_LOG-style filters with `=` or `,` such as `info,microblog=debug`",
            )),
        }
    }

    /// ALLOWED_HOSTS: comma-separated names; by default localhost, 127.0.0.1, [::1], HOST and
    /// SERVER_URL's host.
    fn allowed_hosts(&self, host: &str) -> Result<Vec<String>, ConfigError> {
        let server_url = self.server_url(host)?;
        let server_host = server_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or("")
            .to_string();
        let default = ["localhost", "127.0.0.1", "[::1]", host, &server_host].join(",");
        let hosts: Vec<String> = self
            .string("ALLOWED_HOSTS", &default)
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        match hosts.iter().find(|name| name.contains(['/', ' ', '@'])) {
            Some(bad) => Err(self.invalid(
                "ALLOWED_HOSTS",
                bad,
                "comma-separated host names without port, such as microblog.example,localhost (or *)",
            )),
            None => Ok(hosts),
        }
    }

    /// TRUSTED_PROXIES: comma-separated IP addresses.
    fn trusted_proxies(&self) -> Result<Vec<IpAddr>, ConfigError> {
        self.string("TRUSTED_PROXIES", "")
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(|address| {
                address.parse().map_err(|_| {
                    self.invalid(
                        "TRUSTED_PROXIES",
                        address,
                        "comma-separated IP addresses such as 127.0.0.1,::1",
                    )
                })
            })
            .collect()
    }

    fn admins(&self) -> Result<Vec<String>, ConfigError> {
        let admins: Vec<String> = self
            .string("ADMINS", "admin@example.com")
            .split(',')
            .map(|address| address.trim().to_string())
            .filter(|address| !address.is_empty())
            .collect();
        match admins
            .iter()
            .find(|address| !validator::ValidateEmail::validate_email(*address))
        {
            Some(bad) => Err(self.invalid("ADMINS", bad, "comma-separated email addresses")),
            None => Ok(admins),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_serve_on_localhost_port_8000_with_a_generated_key() {
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(settings.address(), "127.0.0.1:8000");
        assert!(settings.secret_key.generated);
        assert!(settings.error_lab, "the lab is on in a debug build");
        assert_eq!(settings.database_url, "microblog.db");
    }

    #[test]
    fn a_bad_port_names_the_variable_and_what_was_expected() {
        let error = settings(&[("PORT", "abc")]).unwrap_err().to_string();
        assert_eq!(
            error,
            "PORT=\"abc\" is not valid: expected a port number from 0 to 65535"
        );
    }

    #[test]
    fn a_short_secret_key_is_refused_without_echoing_it() {
        let error = settings(&[("SECRET_KEY", "hunter2")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("SECRET_KEY"));
        assert!(!error.contains("hunter2"));
    }

    #[test]
    fn the_lab_is_on_for_debug_builds_or_debug_and_off_in_release_unless_asked_for() {
        assert!(lab_by_default(true, false), "cargo run");
        assert!(lab_by_default(false, true), "DEBUG=1");
        assert!(
            !lab_by_default(false, false),
            "a release build, even behind a proxy"
        );
        let key = ("SECRET_KEY", "a-production-key-of-at-least-32-characters");
        let off = settings(&[("HOST", "0.0.0.0"), key, ("ERROR_LAB", "0")]).unwrap();
        assert!(!off.error_lab);
    }

    #[test]
    fn allowed_hosts_default_to_loopback_names_host_and_the_server_url() {
        let settings = settings(&[("SERVER_URL", "https://microblog.example/")]).unwrap();
        assert_eq!(
            settings.allowed_hosts,
            [
                "localhost",
                "127.0.0.1",
                "[::1]",
                "127.0.0.1",
                "microblog.example"
            ]
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_secret_key() {
        let error = settings(&[("HOST", "0.0.0.0")]).unwrap_err().to_string();
        assert!(error.starts_with("SECRET_KEY=(unset)"), "{error}");
        assert!(
            settings(&[("HOST", "127.0.0.1")]).is_ok(),
            "loopback: development"
        );
    }

    #[test]
    fn log_level_takes_level_names_and_filters_and_refuses_other_words() {
        let level = |value: &str| settings(&[("LOG_LEVEL", value)]).map(|s| s.log.level);
        assert_eq!(level("WARNING").unwrap(), "warn");
        assert_eq!(level("critical").unwrap(), "error");
        assert_eq!(level("debug").unwrap(), "debug");
        assert_eq!(
            level("info,microblog=debug").unwrap(),
            "info,microblog=debug"
        );
        let error = level("loud").unwrap_err().to_string();
        assert!(
            error.starts_with("LOG_LEVEL=\"loud\" is not valid"),
            "{error}"
        );
        assert!(
            error.contains("warning") && error.contains("critical"),
            "{error}"
        );
    }

    #[test]
    fn a_sqlite_url_prefix_is_accepted() {
        let settings = settings(&[("DATABASE_URL", "sqlite://data/app.db")]).unwrap();
        assert_eq!(settings.database_url, "data/app.db");
    }

    #[test]
    fn bad_enum_like_values_list_the_valid_ones() {
        let error = settings(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(error.contains("`text` or `json`"), "{error}");
        let error = settings(&[("DEBUG", "maybe")]).unwrap_err().to_string();
        assert!(error.starts_with("DEBUG="), "{error}");
    }
}
