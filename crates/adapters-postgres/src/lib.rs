//! # Conversa on PostgreSQL
//!
//! [`PgStore`] implements every storage port of `ports` with diesel-async over a deadpool pool.
//! Tenant isolation holds twice: every query filters by `owner_id`, and every transaction first
//! sets `app.owner_id` (transaction-local) so the row-level security policies of the
//! `migrations/` admit only that tenant's rows. The service connects as `conversa_app`, which
//! owns no table and cannot bypass those policies; the few operations that must run before a
//! tenant is known, or across tenants, go through narrow `SECURITY DEFINER` functions.

mod account_cache;
mod conversations;
mod crypto;
mod error;
mod events;
mod features;
mod group_commit;
mod key_rotation;
mod listener;
mod messages;
mod migrate;
mod pool;
mod prepared;
mod role_check;
mod rows;
pub mod schema;
mod seed;
mod send_queue;
mod send_usage;
mod tenants;
mod twilio_accounts;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Bool, Text};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::OwnerId;
use ports::StoreError;

pub use crypto::{InvalidKey, Resealed, Sha256ApiKeys, TokenCipher};
pub use group_commit::{BatchStats, InboundBatching, WebhookBatchStats};
pub use key_rotation::{KeyRotationReport, rotate_token_keys};
pub use migrate::{MIGRATIONS, MigrationError, revert_all_migrations, run_migrations};
pub use pool::{PgPool, PoolBuildError, PoolSettings, PoolStatus, build_pool};
pub use role_check::{RoleCheckError, RoleProblem};
pub use seed::{SeedReport, seed_demo_data};

use account_cache::AccountCache;
use error::TxError;
use group_commit::WebhookGroups;

pub use account_cache::ACCOUNT_CHANGES_CHANNEL;

/// The channel `NOTIFY`d when webhook deliveries become due (migration `000014`).
pub const WEBHOOK_DELIVERIES_CHANNEL: &str = "conversa_webhook_deliveries";

/// The PostgreSQL adapter: one value implements every storage port.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    cipher: TokenCipher,
    inbound_deadline: Duration,
    accounts: Arc<AccountCache>,
    /// Group commit of the webhook's statements, once started (see
    /// [`PgStore::with_inbound_batching`]).
    grouped: Option<WebhookGroups>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// How long storing an inbound message may take by default before it counts as
    /// unavailable (see [`PgStore::with_inbound_deadline`]).
    pub const DEFAULT_INBOUND_DEADLINE: Duration = Duration::from_secs(3);

    /// A store over `pool`, encrypting Twilio tokens with `cipher`.
    #[must_use]
    pub fn new(pool: PgPool, cipher: TokenCipher) -> Self {
        Self {
            pool,
            cipher,
            inbound_deadline: Self::DEFAULT_INBOUND_DEADLINE,
            accounts: Arc::new(AccountCache::new(Self::DEFAULT_ACCOUNT_CACHE_TTL)),
            grouped: None,
        }
    }

    /// How long a cached webhook account is used by default without asking the database
    /// again, when no change notification arrived meanwhile.
    pub const DEFAULT_ACCOUNT_CACHE_TTL: Duration = Duration::from_secs(60);

    /// The same store, using a cached webhook account for at most `ttl` (zero: every webhook
    /// asks the database; the cache then only serves while the database is unavailable). A new,
    /// empty cache.
    #[must_use]
    pub fn with_account_cache_ttl(mut self, ttl: Duration) -> Self {
        self.accounts = Arc::new(AccountCache::new(ttl));
        self
    }

    /// Keeps the webhook-account cache in step with changes made by any instance: listens on
    /// `url` (the application role's) for the change notifications of the accounts, features and
    /// tenants tables, reconnecting as needed, until the returned task is aborted.
    #[must_use]
    pub fn listen_for_account_changes(&self, url: String) -> tokio::task::JoinHandle<()> {
        tokio::spawn(account_cache::listen(self.accounts.clone(), url))
    }

    /// Wakes `wake` whenever webhook deliveries become due through any instance (a fan-out that
    /// created some, a manual retry), and when the listening connection is (re)established:
    /// listens on `url` (the application role's) until the returned task is aborted.
    #[must_use]
    pub fn listen_for_webhook_deliveries(
        &self,
        url: String,
        wake: Arc<tokio::sync::Notify>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(listener::listen(url, WEBHOOK_DELIVERIES_CHANNEL, move |heard| {
            if heard != listener::Heard::Lost {
                wake.notify_one();
            }
        }))
    }

    /// The same store, giving up on an inbound message after `deadline` (waiting for a
    /// connection included) with [`StoreError::Unavailable`], so the webhook can spool it and
    /// still answer Twilio in time.
    #[must_use]
    pub const fn with_inbound_deadline(mut self, deadline: Duration) -> Self {
        self.inbound_deadline = deadline;
        self
    }

    /// The same store, running the webhook's statements (inbound messages, closure
    /// detection's closes and pending closures) that arrive together in one statement per kind
    /// (group commit; see [`InboundBatching`]). Starts the flusher tasks on the current tokio
    /// runtime (so call it inside the runtime that should run them); they end when the last
    /// clone of the store is dropped. Without it, each is its own statement.
    #[must_use]
    pub fn with_inbound_batching(mut self, settings: InboundBatching) -> Self {
        self.grouped = (settings.max_batch > 1).then(|| WebhookGroups::start(&self.pool, settings));
        self
    }

    /// The same store (cipher, account cache) over another `pool`, without group commit: for
    /// the background workers, whose own small pool keeps API load from starving their
    /// statements (and so their leases) of connections, and keeps them from starving the API.
    #[must_use]
    pub fn with_pool(&self, pool: PgPool) -> Self {
        Self {
            pool,
            cipher: self.cipher.clone(),
            inbound_deadline: self.inbound_deadline,
            accounts: self.accounts.clone(),
            grouped: None,
        }
    }

    /// What group commit did so far (zeros when it is off).
    #[must_use]
    pub fn webhook_batch_stats(&self) -> WebhookBatchStats {
        self.grouped.as_ref().map(WebhookGroups::stats).unwrap_or_default()
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
