//! Starting the real binary with bad settings: one clear line, no panic.

use std::process::Command;

fn start_with(vars: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_microblog"));
    command
        .env_clear()
        .env("DATABASE_URL", dir.path().join("m.db"))
        .env("LOG_DIR", dir.path().join("logs"))
        // With a key, a debug build does not keep one in the checkout's .dev-secret-key.
        .env(
            "SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn a_bad_port_stops_the_start_with_one_line_naming_it() {
    // Act
    let (success, stderr) = start_with(&[("PORT", "abc")]);

    // Assert
    assert!(!success);
    assert_eq!(
        stderr.trim(),
        "microblog: PORT=\"abc\" is not valid: expected a port number from 0 to 65535"
    );
}

#[test]
fn an_unusable_database_path_stops_the_start_with_one_line_naming_it() {
    // Act
    let (success, stderr) = start_with(&[("DATABASE_URL", "/nonexistent/dir/microblog.db")]);

    // Assert
    assert!(!success);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("microblog:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("DATABASE_URL=\"/nonexistent/dir/microblog.db\""),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_log_level_that_is_no_level_stops_the_start_with_one_line_listing_the_levels() {
    // Act
    let (success, stderr) = start_with(&[("LOG_LEVEL", "loud")]);

    // Assert
    assert!(!success);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("microblog: LOG_LEVEL=\"loud\" is not valid: expected trace, debug, info, warn (or warning), error (or critical)"),
        "{stderr}"
    );
}
