//! # Conversa on PostgreSQL
//!
//! [`PgStore`] implements every storage port of `ports` with diesel-async over a deadpool pool.
//! Tenant isolation holds twice: every query filters by `owner_id`, and every transaction first
//! sets `app.owner_id` (transaction-local) so the row-level security policies of the
//! `migrations/` admit only that tenant's rows. The service connects as `conversa_app`, which
//! owns no table and cannot bypass those policies; the few operations that must run before a
//! tenant is known, or across tenants, go through narrow `SECURITY DEFINER` functions.

mod conversations;
mod crypto;
mod error;
mod features;
mod messages;
mod migrate;
mod pool;
mod prepared;
mod rows;
pub mod schema;
mod seed;
mod send_queue;
mod tenants;
mod twilio_accounts;

use diesel::sql_types::{Bool, Text};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::OwnerId;
use ports::StoreError;

pub use crypto::{InvalidKey, Sha256ApiKeys, TokenCipher};
pub use migrate::{MIGRATIONS, MigrationError, revert_all_migrations, run_migrations};
pub use pool::{PgPool, PoolBuildError, PoolSettings, PoolStatus, build_pool};
pub use seed::{SeedReport, seed_demo_data};

use error::TxError;

/// The PostgreSQL adapter: one value implements every storage port.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    cipher: TokenCipher,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store over `pool`, encrypting Twilio tokens with `cipher`.
    #[must_use]
    pub const fn new(pool: PgPool, cipher: TokenCipher) -> Self {
        Self { pool, cipher }
    }

    /// The pool (for readiness checks and metrics).
    #[must_use]
    pub const fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How busy the connection pool is now.
    #[must_use]
    pub fn pool_status(&self) -> PoolStatus {
        self.pool.status().into()
    }

    /// Checks the database answers (`SELECT 1`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map(drop).map_err(error::map_diesel)
    }

    async fn conn(&self) -> Result<Object<AsyncPgConnection>, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

// PostgreSQL's `set_config(name, value, is_local)`.
diesel::define_sql_function! {
    fn set_config(name: Text, value: Text, is_local: Bool) -> Text;
}

/// Scopes the current transaction to `owner_id` for row-level security. `is_local = true`: the
/// setting ends with the transaction, so a pooled connection never carries a tenant into the
/// next one. Takes the connection shared, so it can be pipelined with the transaction's first
/// query.
async fn set_tenant(conn: &AsyncPgConnection, owner_id: OwnerId) -> Result<(), TxError> {
    let mut conn = conn;
    // A typed select, not `sql_query`: diesel caches its prepared statement per connection,
    // where raw SQL would be prepared again (one more round trip) in every transaction.
    diesel::select(set_config("app.owner_id", owner_id.to_string(), true)).execute(&mut conn).await?;
    Ok(())
}
