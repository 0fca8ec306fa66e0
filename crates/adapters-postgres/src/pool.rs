//! The connection pool: deadpool over diesel-async connections, with a statement timeout and an
//! application name set on every new connection, and client-side timeouts on its socket: a
//! connect timeout, TCP keepalives and a TCP user timeout, so a connection whose peer vanished
//! (a failover, a dropped NAT entry) fails in seconds instead of hanging a worker until the
//! kernel gives up (hours).

use std::time::Duration;

use deadpool::Runtime;
use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use domain::SecretString;

/// The pool type the adapters use.
pub type PgPool = Pool<AsyncPgConnection>;

/// How to connect and how big the pool is.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Connection URL of the application role (never the migration role). A secret: it may
    /// hold the role's password, and these settings are `Debug`.
    pub url: SecretString,
    /// Most connections held at once.
    pub max_size: usize,
    /// How long a caller waits for a free connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// `statement_timeout` of every connection.
    pub statement_timeout: Duration,
    /// Idle time before the first TCP keepalive probe. Probes follow every third of it, and
    /// after three unanswered ones (or data unacknowledged that long) the connection is
    /// dropped: a dead peer is noticed within about twice this.
    pub keepalive_idle: Duration,
}

impl PoolSettings {
    /// Settings with sensible defaults for `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::new(url),
            max_size: 16,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            keepalive_idle: Duration::from_secs(15),
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

/// How a connection of `settings` reaches the server: the URL's parameters, with this pool's
/// socket timeouts over any the URL sets (the pool's settings are the configuration's word).
fn connection_config(url: &str, settings: &PoolSettings) -> Result<tokio_postgres::Config, ConnectionError> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| ConnectionError::InvalidConnectionUrl(format!("{e}")))?;
    let probe_every = (settings.keepalive_idle / 3).max(Duration::from_secs(1));
    config
        .connect_timeout(settings.connect_timeout)
        .keepalives(true)
        .keepalives_idle(settings.keepalive_idle)
        .keepalives_interval(probe_every)
        .keepalives_retries(3)
        // Bounds how long sent data may go unacknowledged (Linux): a statement written to a
        // peer that vanished fails then, rather than after the kernel's retransmissions (~15 min).
        .tcp_user_timeout(settings.keepalive_idle + probe_every * 3);
    Ok(config)
}

/// Builds the pool. Connections are made lazily, so this succeeds without a reachable server.
///
/// # Errors
/// [`PoolBuildError`] when the settings are unusable.
pub fn build_pool(settings: &PoolSettings) -> Result<PgPool, PoolBuildError> {
    let statement_timeout_ms = settings.statement_timeout.as_millis();
    let connect_timeout = settings.connect_timeout;
    // Checked once here, so a bad URL stops start-up instead of failing every connection.
    connection_config(settings.url.expose(), settings).map_err(|e| PoolBuildError(e.to_string()))?;
    let socket = settings.clone();
    let mut config = ManagerConfig::default();
    // Checking a connection with a query at every checkout costs a round trip per transaction;
    // a connection that broke is marked by the failing query and dropped at its next recycle.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let pg = connection_config(url, &socket);
        Box::pin(async move {
            let connect = async {
                let (client, connection) = pg?.connect(tokio_postgres::NoTls).await.map_err(|e| {
                    ConnectionError::BadConnection(format!("cannot connect to PostgreSQL: {e}"))
                })?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            };
            let mut conn = tokio::time::timeout(connect_timeout, connect)
                .await
                .map_err(|_| ConnectionError::BadConnection("connection timed out".to_owned()))??;
            // A transaction left open idle (a stalled task) would also hold back every
            // tenant's event stream (events are read only behind the oldest running
            // transaction, ADR 0018): it ends after the statement timeout as well.
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout_ms};
                 SET idle_in_transaction_session_timeout = {statement_timeout_ms};
                 SET application_name = 'conversa'"
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(settings.url.expose(), config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.acquire_timeout))
        .create_timeout(Some(settings.connect_timeout + Duration::from_secs(1)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| PoolBuildError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_get_the_pools_socket_timeouts_over_the_urls() {
        let mut settings =
            PoolSettings::new("postgres://app@db:5432/conversa?keepalives=0&keepalives_idle=7200");
        settings.keepalive_idle = Duration::from_secs(12);
        settings.connect_timeout = Duration::from_secs(4);
        let config = connection_config(settings.url.expose(), &settings).unwrap();
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(12));
        assert_eq!(config.get_keepalives_interval(), Some(Duration::from_secs(4)));
        assert_eq!(config.get_keepalives_retries(), Some(3));
        assert_eq!(config.get_tcp_user_timeout(), Some(&Duration::from_secs(24)));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(4)));
        assert_eq!(config.get_dbname(), Some("conversa"), "the rest of the URL is kept");
    }

    #[test]
    fn the_settings_never_print_the_password() {
        let settings = PoolSettings::new("postgres://app:hunter2@db:5432/conversa");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2") && printed.contains("max_size: 16"), "{printed}");
    }

    #[test]
    fn a_url_that_does_not_parse_is_refused_when_the_pool_is_built() {
        let Err(err) = build_pool(&PoolSettings::new("postgres://app@db:notaport/conversa")) else {
            panic!("a URL with a bad port was accepted");
        };
        assert!(err.to_string().contains("cannot build the database pool"), "{err}");
    }
}
