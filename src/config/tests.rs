//! The settings' rules: defaults, refusals that name the variable, and derived values.

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
    assert_eq!(settings.database_url.expose(), "microblog.db");
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
    assert_eq!(settings.database_url.expose(), "data/app.db");
}

#[test]
fn bad_enum_like_values_list_the_valid_ones() {
    let error = settings(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
    assert!(error.contains("`text` or `json`"), "{error}");
    let error = settings(&[("DEBUG", "maybe")]).unwrap_err().to_string();
    assert!(error.starts_with("DEBUG="), "{error}");
}

#[test]
fn a_bad_sentry_dsn_is_refused_without_echoing_it_and_a_good_one_never_prints() {
    let error = settings(&[("SENTRY_DSN", "not-a-dsn-secretkey123")])
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("SENTRY_DSN"), "{error}");
    assert!(!error.contains("secretkey123"), "{error}");
    let settings = settings(&[("SENTRY_DSN", "https://abcdef123456@o1.ingest.sentry.io/42")])
        .expect("a valid DSN");
    let sentry = settings.sentry.expect("Sentry is on");
    assert_eq!(sentry.environment, "production");
    assert!(!format!("{sentry:?}").contains("abcdef123456"));
    assert_eq!(
        super::Settings::from_lookup(|_| None)
            .map(|s| s.error_retention_days)
            .ok(),
        Some(30)
    );
}
