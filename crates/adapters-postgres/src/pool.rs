//! The connection pool: deadpool over diesel-async connections, with a statement timeout and an
//! application name set on every new connection.

use std::time::Duration;

use deadpool::Runtime;
use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

/// The pool type the adapters use.
pub type PgPool = Pool<AsyncPgConnection>;

/// How to connect and how big the pool is.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Connection URL of the application role (never the migration role).
    pub url: String,
    /// Most connections held at once.
    pub max_size: usize,
    /// How long a caller waits for a free connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// `statement_timeout` of every connection.
    pub statement_timeout: Duration,
}

impl PoolSettings {
    /// Settings with sensible defaults for `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_size: 16,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// How busy the pool is at one moment, for monitoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Most connections the pool may hold.
    pub max_size: usize,
    /// Connections open now (they are made lazily, up to `max_size`).
    pub open: usize,
    /// Open connections nobody holds.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl PoolStatus {
    /// Open connections held by a caller.
    #[must_use]
    pub const fn in_use(&self) -> usize {
        self.open.saturating_sub(self.idle)
    }
}

impl From<deadpool::Status> for PoolStatus {
    fn from(status: deadpool::Status) -> Self {
        Self { max_size: status.max_size, open: status.size, idle: status.available, waiting: status.waiting }
    }
}

/// The pool could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the database pool: {0}")]
pub struct PoolBuildError(String);

/// Builds the pool. Connections are made lazily, so this succeeds without a reachable server.
///
/// # Errors
/// [`PoolBuildError`] when the settings are unusable.
pub fn build_pool(settings: &PoolSettings) -> Result<PgPool, PoolBuildError> {
    let statement_timeout_ms = settings.statement_timeout.as_millis();
    let connect_timeout = settings.connect_timeout;
    let mut config = ManagerConfig::default();
    // Checking a connection with a query at every checkout costs a round trip per transaction;
    // a connection that broke is marked by the failing query and dropped at its next recycle.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            let connect = AsyncPgConnection::establish(&url);
            let mut conn = tokio::time::timeout(connect_timeout, connect)
                .await
                .map_err(|_| ConnectionError::BadConnection("connection timed out".to_owned()))??;
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout_ms}; SET application_name = 'conversa'"
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(&settings.url, config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.acquire_timeout))
        .create_timeout(Some(settings.connect_timeout + Duration::from_secs(1)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| PoolBuildError(e.to_string()))
}
