//! Reading environment variables, one typed read each, with the error that names the variable
//! and the value expected. Written by hand: the crates that map the environment onto a struct
//! (envy, config) report serde's wording, not the variable and the values it accepts.

use std::net::IpAddr;

/// A variable that is set to a value the application cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value} is not valid: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

/// Typed reads of one variable each, with the error that names it.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_string())
    }

    pub fn invalid(&self, variable: &'static str, value: &str, expected: &str) -> ConfigError {
        ConfigError {
            variable,
            value: format!("{value:?}"),
            expected: expected.to_string(),
        }
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| self.invalid(name, &value, expected)),
        }
    }

    pub fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let expected = format!("a whole number from {min} to {max}");
        let value = self.parse(name, default, &expected)?;
        if value < min || value > max {
            return Err(self.invalid(name, &value.to_string(), &expected));
        }
        Ok(value)
    }

    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "on" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "off" | "no") => Ok(false),
            Some(v) => Err(self.invalid(name, &v, "1 or 0 (also true/false, on/off, yes/no)")),
        }
    }
}

/// The settings whose reading needs more than a type: each names its variable when refused.
impl Env<'_> {
    pub fn server_url(&self, host: &str) -> Result<String, ConfigError> {
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

    /// METRICS_ADDR: `host:port`, by default on loopback; `off` turns the listener off.
    pub fn metrics_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let value = self.string("METRICS_ADDR", "127.0.0.1:9464");
        if value.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|_| {
            self.invalid(
                "METRICS_ADDR",
                &value,
                "host:port such as 127.0.0.1:9464 (an IP address, not a name), or off",
            )
        })
    }

    /// SENTRY_DSN (checked now: the SDK would panic on a bad one) and SENTRY_ENVIRONMENT.
    pub fn sentry(&self, debug: bool) -> Result<Option<super::SentrySettings>, ConfigError> {
        let Some(dsn) = self.optional("SENTRY_DSN") else {
            return Ok(None);
        };
        if dsn.parse::<sentry::types::Dsn>().is_err() {
            // The DSN's key is a credential: the message does not repeat it.
            return Err(ConfigError {
                variable: "SENTRY_DSN",
                value: "(hidden)".to_string(),
                expected: "a DSN such as https://KEY@o0.ingest.sentry.io/PROJECT".to_string(),
            });
        }
        let default = if debug { "development" } else { "production" };
        Ok(Some(super::SentrySettings {
            dsn: dsn.into(),
            environment: self.string("SENTRY_ENVIRONMENT", default),
        }))
    }

    /// LOG_LEVEL: a level name (Flask's `warning` and `critical` too), or RUST_LOG-style
    /// directives, which are told apart by their `=` or `,` (`info,microblog=debug`). A lone word
    /// that is no level (`loud`) would silently read as a module name: it is refused.
    pub fn log_level(&self) -> Result<String, ConfigError> {
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
    pub fn allowed_hosts(&self, host: &str) -> Result<Vec<String>, ConfigError> {
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
    pub fn trusted_proxies(&self) -> Result<Vec<IpAddr>, ConfigError> {
        self.string("TRUSTED_PROXIES", "")
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(|address| {
                // `::ffff:127.0.0.1` is 127.0.0.1, as a dual-stack listener reports it.
                address
                    .parse()
                    .map(|ip: IpAddr| ip.to_canonical())
                    .map_err(|_| {
                        self.invalid(
                            "TRUSTED_PROXIES",
                            address,
                            "comma-separated IP addresses such as 127.0.0.1,::1",
                        )
                    })
            })
            .collect()
    }

    pub fn admins(&self) -> Result<Vec<String>, ConfigError> {
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
