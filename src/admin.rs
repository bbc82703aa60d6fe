//! `microblog admin <username>`: grants the admin role, from the command line only.

use crate::config::Settings;
use crate::db;
use crate::models::User;

/// Why the role could not be granted: one line for the terminal.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("usage: microblog admin <username>")]
    Usage,
    #[error(transparent)]
    Database(#[from] db::DatabaseSetupError),
    #[error("the database could not be written: {0}")]
    Write(String),
    #[error("there is no user {0:?}")]
    NoSuchUser(String),
}

/// Makes `username` an admin.
pub fn grant(settings: &Settings, username: Option<String>) -> Result<(), AdminError> {
    let username = username.ok_or(AdminError::Usage)?;
    let pool = db::connect(&settings.database_url, 1, settings.database_timeout())?;
    let mut conn = pool.get().map_err(|e| AdminError::Write(e.to_string()))?;
    let changed = User::set_role(&mut conn, &username, "admin")
        .map_err(|e| AdminError::Write(format!("{e:?}")))?;
    if !changed {
        return Err(AdminError::NoSuchUser(username));
    }
    println!("{username} is now an admin.");
    Ok(())
}
