//! The migrations of `migrations/`, compiled into the binary (no diesel CLI needed) and applied
//! at start: `migrations/sqlite` or `migrations/postgres`, whichever database this is.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any fixed number, the same in every instance: the key of the advisory lock that lets one
/// instance at a time migrate a shared PostgreSQL database.
const MIGRATION_LOCK: i64 = 0x6d6963_726f62;

/// Applies the pending migrations. Several instances starting together on one PostgreSQL
/// database take turns: the first applies them, the others find nothing left to do.
pub fn apply(conn: &mut DbConnection) -> Result<(), String> {
    match conn {
        DbConnection::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE)
            .map(drop)
            .map_err(|e| e.to_string()),
        DbConnection::Postgresql(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string())?;
            let applied = conn
                .run_pending_migrations(POSTGRES)
                .map(drop)
                .map_err(|e| e.to_string());
            let unlocked = conn
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string());
            applied.and(unlocked)
        }
    }
}
