//! Embedded migrations, run as the role that owns the schema (not the application role).

use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Migrations could not run.
#[derive(Debug, thiserror::Error)]
#[error("migrations failed: {0}")]
pub struct MigrationError(String);

/// Applies pending migrations on the database at `owner_url` and returns the versions applied.
/// Runs on a blocking thread (diesel's migration harness is synchronous).
///
/// # Errors
/// [`MigrationError`] when the database cannot be reached or a migration fails.
pub async fn run_migrations(owner_url: &str) -> Result<Vec<String>, MigrationError> {
    let url = owner_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| MigrationError(e.to_string()))?;
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| MigrationError(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .map_err(|e| MigrationError(e.to_string()))?
}

/// Reverts every migration (tests use it to prove each `down.sql` works).
///
/// # Errors
/// [`MigrationError`].
pub async fn revert_all_migrations(owner_url: &str) -> Result<(), MigrationError> {
    let url = owner_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| MigrationError(e.to_string()))?;
        conn.revert_all_migrations(MIGRATIONS).map(drop).map_err(|e| MigrationError(e.to_string()))
    })
    .await
    .map_err(|e| MigrationError(e.to_string()))?
}
