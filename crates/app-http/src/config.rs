//! Configuration: defaults < `conversa.toml` (optional) < environment variables, loaded once by
//! figment at start-up. Every key is flat; in the environment it is `CONVERSA_<KEY>` (upper
//! case), except `DATABASE_URL`, which keeps its conventional name. A bad value stops start-up
//! with a message naming the key.

use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable, coloured (development).
    Pretty,
}

/// The service's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// HTTP worker threads; 0: one per core. Each worker shares the one database pool, so a
    /// query often hops to the thread that opened its connection; where PostgreSQL shares the
    /// host's cores, fewer workers leave it more CPU (see `crates/bench-webhook/README.md`).
    pub http_workers: usize,
    /// The public URL Twilio calls (scheme, host, optional port, no trailing slash); webhook
    /// signatures are checked against URLs built from it, never from the Host header.
    pub public_base_url: String,
    /// PostgreSQL URL of the schema owner: migrations and `seed` run with it.
    pub database_url: String,
    /// PostgreSQL URL of the application role the service runs as. Empty: `database_url` with
    /// the user replaced by `conversa_app`.
    pub app_database_url: String,
    /// Most pooled database connections.
    pub db_pool_size: usize,
    /// How long a request waits for a pooled connection, in milliseconds.
    pub db_acquire_timeout_ms: u64,
    /// `statement_timeout` of every connection, in milliseconds.
    pub db_statement_timeout_ms: u64,
    /// Pooled connections of the background workers (dispatcher, sweeper): their own pool, so
    /// API load cannot keep them waiting until their send leases lapse.
    pub db_worker_pool_size: usize,
    /// How long opening a database connection may take, in milliseconds.
    pub db_connect_timeout_ms: u64,
    /// Idle seconds before a database connection's first TCP keepalive probe; a peer that
    /// vanished is noticed within about twice this (see `PoolSettings::keepalive_idle`).
    pub db_keepalive_idle_seconds: u64,
    /// Most inbound messages stored in one statement (group commit of webhooks that arrive
    /// together); 1 stores each alone.
    pub db_inbound_batch_max: usize,
    /// Tasks storing inbound batches concurrently (each on a pooled connection while it stores).
    pub db_inbound_flushers: usize,
    /// 64 hex characters: the AES-256 key that encrypts Twilio auth tokens at rest.
    pub token_encryption_key: String,
    /// Keys `token_encryption_key` replaced, comma-separated (64 hex characters each): tokens
    /// sealed under them are still read, until `conversa keys rotate` re-seals them under the
    /// current key. Never used to seal.
    pub token_encryption_keys_previous: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// `json` or `pretty`.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,conversa=debug`.
    pub log_filter: String,
    /// Whether this instance runs the sweeper and the dispatcher (any number of instances may).
    pub workers_enabled: bool,
    /// Pause between lifecycle sweeps, in milliseconds.
    pub sweep_interval_ms: u64,
    /// Conversations closed per sweep batch.
    pub sweep_batch_size: u32,
    /// Pause between send-queue polls when idle, in milliseconds.
    pub dispatch_interval_ms: u64,
    /// Send jobs claimed per poll.
    pub dispatch_batch_size: u32,
    /// How long a claimed send job stays leased to its worker, in seconds.
    pub send_lease_seconds: u32,
    /// Send attempts before a message is `failed`.
    pub send_max_attempts: u32,
    /// First retry delay (exponential backoff with full jitter), in milliseconds.
    pub send_base_delay_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub send_max_delay_ms: u64,
    /// Twilio's REST API base URL (tests point it at a local fake).
    pub twilio_api_base_url: String,
    /// Connect timeout of calls to Twilio, in milliseconds.
    pub twilio_connect_timeout_ms: u64,
    /// Total timeout of calls to Twilio, in milliseconds.
    pub twilio_request_timeout_ms: u64,
    /// The bearer token `GET /metrics` requires. Empty: the endpoint is open, so keep it off the
    /// public internet.
    pub metrics_token: String,
    /// How long storing a webhook may take before the database counts as unavailable and the
    /// webhook is spooled, in milliseconds (Twilio gives up on a webhook after 15 s).
    pub webhook_deadline_ms: u64,
    /// How long a cached webhook account (token, tenant settings) is used without asking the
    /// database, in milliseconds; changes reach every instance sooner through LISTEN/NOTIFY. 0:
    /// every webhook asks (the cache then only serves while the database is down).
    pub account_cache_ttl_ms: u64,
    /// The directory of the local webhook spool (webhooks accepted while the database was
    /// unavailable). One instance per directory.
    pub spool_dir: String,
    /// The most bytes the spool's waiting webhooks may take; past it, webhooks get 503.
    pub spool_max_bytes: u64,
    /// Pause between attempts to replay the spool while it holds webhooks, in milliseconds.
    pub spool_drain_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            http_workers: 0,
            public_base_url: "http://localhost:8080".to_owned(),
            database_url: "postgres://postgres@127.0.0.1:5432/conversa".to_owned(),
            app_database_url: String::new(),
            db_pool_size: 16,
            db_acquire_timeout_ms: 2_000,
            db_statement_timeout_ms: 10_000,
            db_worker_pool_size: 4,
            db_connect_timeout_ms: 5_000,
            db_keepalive_idle_seconds: 15,
            db_inbound_batch_max: adapters_postgres::InboundBatching::default().max_batch,
            db_inbound_flushers: adapters_postgres::InboundBatching::default().flushers,
            token_encryption_key: String::new(),
            token_encryption_keys_previous: String::new(),
            body_limit_bytes: 64 * 1024,
            log_format: LogFormat::Json,
            log_filter: "info".to_owned(),
            workers_enabled: true,
            sweep_interval_ms: 5_000,
            sweep_batch_size: 200,
            dispatch_interval_ms: 500,
            dispatch_batch_size: 10,
            send_lease_seconds: 120,
            send_max_attempts: 6,
            send_base_delay_ms: 2_000,
            send_max_delay_ms: 300_000,
            twilio_api_base_url: "https://api.twilio.com".to_owned(),
            twilio_connect_timeout_ms: 3_000,
            twilio_request_timeout_ms: 10_000,
            metrics_token: String::new(),
            webhook_deadline_ms: 3_000,
            account_cache_ttl_ms: 60_000,
            spool_dir: ".data/spool".to_owned(),
            spool_max_bytes: 256 * 1024 * 1024,
            spool_drain_interval_ms: 500,
        }
    }
}

/// Configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value had the wrong type or an unknown key was given (figment names the key and
    /// where it came from).
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value parsed but is unusable.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The key, as written in the environment.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Keys whose values are text even when they look like numbers or booleans: figment's
/// environment provider would turn `CONVERSA_METRICS_TOKEN=123456` into an integer (and an
/// all-zero hex key into `0`), and the string field would then refuse it.
const TEXT_KEYS: &[&str] = &[
    "host",
    "public_base_url",
    "app_database_url",
    "token_encryption_key",
    "token_encryption_keys_previous",
    "log_filter",
    "twilio_api_base_url",
    "metrics_token",
    "spool_dir",
];

/// The [`TEXT_KEYS`] set in the environment, as strings, exactly as written.
fn text_values_from_env() -> std::collections::BTreeMap<&'static str, String> {
    TEXT_KEYS
        .iter()
        .filter_map(|key| {
            std::env::var(format!("CONVERSA_{}", key.to_ascii_uppercase())).ok().map(|v| (*key, v))
        })
        .collect()
}

impl Config {
    /// Every key, as figment names it.
    pub const KEYS: &'static [&'static str] = &[
        "host",
        "port",
        "http_workers",
        "public_base_url",
        "database_url",
        "app_database_url",
        "db_pool_size",
        "db_acquire_timeout_ms",
        "db_statement_timeout_ms",
        "db_worker_pool_size",
        "db_connect_timeout_ms",
        "db_keepalive_idle_seconds",
        "db_inbound_batch_max",
        "db_inbound_flushers",
        "token_encryption_key",
        "token_encryption_keys_previous",
        "body_limit_bytes",
        "log_format",
        "log_filter",
        "workers_enabled",
        "sweep_interval_ms",
        "sweep_batch_size",
        "dispatch_interval_ms",
        "dispatch_batch_size",
        "send_lease_seconds",
        "send_max_attempts",
        "send_base_delay_ms",
        "send_max_delay_ms",
        "twilio_api_base_url",
        "twilio_connect_timeout_ms",
        "twilio_request_timeout_ms",
        "metrics_token",
        "webhook_deadline_ms",
        "account_cache_ttl_ms",
        "spool_dir",
        "spool_max_bytes",
        "spool_drain_interval_ms",
    ];

    /// Loads defaults, then `conversa.toml` in the working directory (if present), then the
    /// environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key at fault.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::from(Serialized::defaults(Self::default()))
                .merge(Toml::file("conversa.toml"))
                .merge(Env::raw().only(&["DATABASE_URL"]))
                // Only known keys: other CONVERSA_* variables (the scripts' own) are not config.
                .merge(
                    Env::prefixed("CONVERSA_").filter(|key| {
                        Self::KEYS.iter().any(|known| key.as_str().eq_ignore_ascii_case(known))
                    }),
                )
                .merge(Serialized::defaults(text_values_from_env())),
        )
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Self = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.to_owned() });
        // A dispatcher sends its claimed batch one job after another under one lease: if the
        // lease could end first, another replica would claim the batch's tail and send it twice.
        let slowest_batch_ms = u64::from(self.dispatch_batch_size) * self.twilio_request_timeout_ms;
        if u64::from(self.send_lease_seconds) * 1000 <= slowest_batch_ms {
            return invalid(
                "CONVERSA_SEND_LEASE_SECONDS",
                "must outlast a whole batch: more than CONVERSA_DISPATCH_BATCH_SIZE × CONVERSA_TWILIO_REQUEST_TIMEOUT_MS",
            );
        }
        if !(self.public_base_url.starts_with("http://") || self.public_base_url.starts_with("https://"))
            || self.public_base_url.ends_with('/')
        {
            return invalid(
                "CONVERSA_PUBLIC_BASE_URL",
                "must be an absolute http(s) URL without a trailing slash",
            );
        }
        if url::Url::parse(&self.database_url).is_err() {
            return invalid("DATABASE_URL", "must be a postgres:// URL");
        }
        if !self.app_database_url.is_empty() && url::Url::parse(&self.app_database_url).is_err() {
            return invalid("CONVERSA_APP_DATABASE_URL", "must be a postgres:// URL");
        }
        if self.webhook_deadline_ms == 0 || self.webhook_deadline_ms > 14_000 {
            return invalid(
                "CONVERSA_WEBHOOK_DEADLINE_MS",
                "must be between 1 and 14000: Twilio gives up on a webhook after 15 s",
            );
        }
        if self.spool_dir.trim().is_empty() {
            return invalid("CONVERSA_SPOOL_DIR", "must name a directory");
        }
        if self.spool_max_bytes < 1024 * 1024 {
            return invalid("CONVERSA_SPOOL_MAX_BYTES", "must be at least 1 MiB");
        }
        if self.db_pool_size == 0 {
            return invalid("CONVERSA_DB_POOL_SIZE", "must be at least 1");
        }
        if self.db_worker_pool_size == 0 {
            return invalid("CONVERSA_DB_WORKER_POOL_SIZE", "must be at least 1");
        }
        if self.db_connect_timeout_ms == 0 {
            return invalid("CONVERSA_DB_CONNECT_TIMEOUT_MS", "must be at least 1");
        }
        if self.db_keepalive_idle_seconds == 0 {
            return invalid("CONVERSA_DB_KEEPALIVE_IDLE_SECONDS", "must be at least 1");
        }
        if self.db_inbound_batch_max == 0 || self.db_inbound_batch_max > 256 {
            return invalid("CONVERSA_DB_INBOUND_BATCH_MAX", "must be between 1 and 256");
        }
        if self.db_inbound_flushers == 0 || self.db_inbound_flushers > self.db_pool_size {
            return invalid("CONVERSA_DB_INBOUND_FLUSHERS", "must be between 1 and CONVERSA_DB_POOL_SIZE");
        }
        if self.send_max_attempts == 0 {
            return invalid("CONVERSA_SEND_MAX_ATTEMPTS", "must be at least 1");
        }
        if self.send_base_delay_ms == 0 || self.send_max_delay_ms < self.send_base_delay_ms {
            return invalid(
                "CONVERSA_SEND_MAX_DELAY_MS",
                "must be at least CONVERSA_SEND_BASE_DELAY_MS (> 0)",
            );
        }
        if url::Url::parse(&self.twilio_api_base_url).is_err() {
            return invalid("CONVERSA_TWILIO_API_BASE_URL", "must be an absolute URL");
        }
        if self.body_limit_bytes < 1024 {
            return invalid("CONVERSA_BODY_LIMIT_BYTES", "must be at least 1024");
        }
        Ok(())
    }

    /// The application role's URL (see [`Config::app_database_url`]).
    #[must_use]
    pub fn app_database_url(&self) -> String {
        if !self.app_database_url.is_empty() {
            return self.app_database_url.clone();
        }
        let mut url = url::Url::parse(&self.database_url).expect("validated at load");
        let _ = url.set_username("conversa_app");
        let _ = url.set_password(None);
        url.to_string()
    }

    /// The previous token encryption keys (see [`Config::token_encryption_keys_previous`]),
    /// blanks left out.
    #[must_use]
    pub fn previous_token_keys(&self) -> Vec<&str> {
        self.token_encryption_keys_previous.split(',').map(str::trim).filter(|key| !key.is_empty()).collect()
    }

    /// The token `GET /metrics` requires (see [`Config::metrics_token`]); `None` when empty.
    #[must_use]
    pub fn metrics_token(&self) -> Option<domain::SecretString> {
        (!self.metrics_token.is_empty()).then(|| domain::SecretString::new(self.metrics_token.clone()))
    }

    /// Pool settings for the application role.
    #[must_use]
    pub fn pool_settings(&self) -> adapters_postgres::PoolSettings {
        let mut settings = adapters_postgres::PoolSettings::new(self.app_database_url());
        settings.max_size = self.db_pool_size;
        settings.acquire_timeout = Duration::from_millis(self.db_acquire_timeout_ms);
        settings.statement_timeout = Duration::from_millis(self.db_statement_timeout_ms);
        settings.connect_timeout = Duration::from_millis(self.db_connect_timeout_ms);
        settings.keepalive_idle = Duration::from_secs(self.db_keepalive_idle_seconds);
        settings
    }

    /// Pool settings of the background workers' own pool (see [`Config::db_worker_pool_size`]).
    #[must_use]
    pub fn worker_pool_settings(&self) -> adapters_postgres::PoolSettings {
        let mut settings = self.pool_settings();
        settings.max_size = self.db_worker_pool_size;
        settings
    }

    /// How inbound messages are grouped into statements.
    #[must_use]
    pub const fn inbound_batching(&self) -> adapters_postgres::InboundBatching {
        adapters_postgres::InboundBatching {
            flushers: self.db_inbound_flushers,
            max_batch: self.db_inbound_batch_max,
        }
    }

    /// Where the webhook spool lives and how large it may grow.
    #[must_use]
    pub fn spool_settings(&self) -> adapters_spool::SpoolSettings {
        adapters_spool::SpoolSettings { dir: self.spool_dir.clone().into(), max_bytes: self.spool_max_bytes }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file("conversa.toml", "port = 9000\nlog_format = \"pretty\"")?;
            jail.set_env("CONVERSA_PORT", "9100");
            jail.set_env("DATABASE_URL", "postgres://admin@db:5432/conversa");
            jail.set_env("CONVERSA_METRICS_TOKEN", "scrape-me");
            jail.set_env("CONVERSA_HTTP_WORKERS", "1");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.port, 9100);
            assert_eq!((config.http_workers, Config::default().http_workers), (1, 0));
            assert_eq!(config.metrics_token().as_ref().map(domain::SecretString::expose), Some("scrape-me"));
            assert_eq!(Config::default().metrics_token(), None, "open unless configured");
            assert_eq!(config.log_format, LogFormat::Pretty);
            assert_eq!(config.app_database_url(), "postgres://conversa_app@db:5432/conversa");
            Ok(())
        });
    }

    #[test]
    fn values_that_look_like_numbers_stay_text() {
        Jail::expect_with(|jail| {
            jail.set_env("CONVERSA_METRICS_TOKEN", "123456");
            jail.set_env("CONVERSA_TOKEN_ENCRYPTION_KEY", "0".repeat(64));
            jail.set_env("CONVERSA_LOG_FILTER", "true");
            jail.set_env(
                "CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS",
                format!("{} , ,{}", "1".repeat(64), "2".repeat(64)),
            );
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.metrics_token, "123456");
            assert_eq!(config.token_encryption_key, "0".repeat(64));
            assert_eq!(config.previous_token_keys(), ["1".repeat(64), "2".repeat(64)]);
            assert_eq!(Config::default().previous_token_keys(), Vec::<&str>::new());
            assert_eq!(config.log_filter, "true");
            Ok(())
        });
    }

    #[test]
    fn the_send_lease_must_outlast_a_batch() {
        Jail::expect_with(|jail| {
            jail.set_env("CONVERSA_DISPATCH_BATCH_SIZE", "50");
            jail.set_env("CONVERSA_SEND_LEASE_SECONDS", "60");
            let err = Config::load().unwrap_err().to_string();
            assert!(err.contains("CONVERSA_SEND_LEASE_SECONDS"), "{err}");
            jail.set_env("CONVERSA_SEND_LEASE_SECONDS", "600");
            Config::load().map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn the_workers_get_their_own_small_pool_with_the_same_timeouts() {
        Jail::expect_with(|jail| {
            jail.set_env("CONVERSA_DB_WORKER_POOL_SIZE", "3");
            jail.set_env("CONVERSA_DB_CONNECT_TIMEOUT_MS", "1500");
            jail.set_env("CONVERSA_DB_KEEPALIVE_IDLE_SECONDS", "9");
            let config = Config::load().map_err(|e| e.to_string())?;
            let (api, workers) = (config.pool_settings(), config.worker_pool_settings());
            assert_eq!((api.max_size, workers.max_size), (16, 3));
            for settings in [api, workers] {
                assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
                assert_eq!(settings.keepalive_idle, Duration::from_secs(9));
            }
            jail.set_env("CONVERSA_DB_WORKER_POOL_SIZE", "0");
            let err = Config::load().unwrap_err().to_string();
            assert!(err.contains("CONVERSA_DB_WORKER_POOL_SIZE"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("CONVERSA_PORT", "eighty");
            let err = Config::load().unwrap_err().to_string();
            assert!(err.contains("\"PORT\"") && err.contains("CONVERSA_"), "{err}");
            jail.set_env("CONVERSA_PORT", "8080");
            jail.set_env("CONVERSA_PUBLIC_BASE_URL", "example.com/");
            let err = Config::load().unwrap_err().to_string();
            assert!(err.contains("CONVERSA_PUBLIC_BASE_URL"), "{err}");
            Ok(())
        });
    }
}
