//! `serve` refuses to run with an application role that would void row-level security (see
//! `adapters_postgres::PgStore::check_application_role`). The check needs the database; a
//! service that starts while PostgreSQL is down still serves (webhooks are spooled), so the
//! check then runs as soon as the database answers and stops the server if it fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use adapters_postgres::{PgStore, RoleCheckError};

/// How often the deferred check asks a database that did not answer.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The outcome of the check before serving.
#[derive(Debug)]
pub enum BeforeServing {
    /// The role passed.
    Passed,
    /// The database did not answer: check again once serving ([`RoleGuard::watch`]).
    Deferred,
}

/// Checks the role before serving.
///
/// # Errors
/// [`RoleCheckError::Refused`] naming every problem: `serve` must not start.
pub async fn check_before_serving(store: &PgStore) -> Result<BeforeServing, RoleCheckError> {
    match store.check_application_role().await {
        Ok(()) => Ok(BeforeServing::Passed),
        Err(RoleCheckError::Store(error)) => {
            tracing::warn!(%error, "cannot check the application role yet; serving, and checking once the database answers");
            Ok(BeforeServing::Deferred)
        }
        Err(refused) => Err(refused),
    }
}

/// The deferred check, run beside the server: it stops the server when the role is refused and
/// keeps the reason for `serve` to exit with.
#[derive(Debug, Default, Clone)]
pub struct RoleGuard {
    refusal: Arc<Mutex<Option<RoleCheckError>>>,
}

impl RoleGuard {
    /// Checks every [`RETRY_EVERY`] until the database answers; on a refusal, stops `server`.
    pub fn watch(&self, store: PgStore, server: ServerHandle) -> tokio::task::JoinHandle<()> {
        let refusal = Arc::clone(&self.refusal);
        tokio::spawn(async move {
            loop {
                match store.check_application_role().await {
                    Ok(()) => {
                        tracing::info!("the application role passed its check");
                        return;
                    }
                    Err(RoleCheckError::Store(_)) => tokio::time::sleep(RETRY_EVERY).await,
                    Err(refused) => {
                        tracing::error!(error = %refused, "stopping");
                        *refusal.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(refused);
                        server.stop(true).await;
                        return;
                    }
                }
            }
        })
    }

    /// The refusal that stopped the server, if any.
    #[must_use]
    pub fn refusal(&self) -> Option<RoleCheckError> {
        self.refusal.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}
