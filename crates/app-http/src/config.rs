//! Configuration: defaults < `conversa.toml` (optional) < environment variables, loaded once by
//! figment at start-up. Keys are flat outside: in the environment each is a variable
//! (`CONVERSA_<KEY>`, and `DATABASE_URL`, which keeps its conventional name), in
//! `conversa.toml` the same name in lower case without `CONVERSA_`. Inside they are grouped in
//! sections (`config.database.pool_size`); the table below, the one place a key is declared,
//! says which variable sets which field. A bad value stops start-up with a message naming the key.
//!
//! Secrets (token encryption keys, database URLs, the metrics token) are
//! [`SecretString`]s: `Debug` of a [`Config`] never prints one.

mod declare;
mod parse;
mod source;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use domain::SecretString;
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use declare::sections;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable, coloured (development).
    Pretty,
}

sections! {
    /// Listening and serving HTTP.
    http: HttpSettings {
        /// Address to listen on.
        "CONVERSA_HOST" => host: String = "0.0.0.0".to_owned(),
        /// Port to listen on.
        "CONVERSA_PORT" => port: u16 = 8080,
        /// HTTP worker threads; 0: one per core. Each worker shares the one database pool, so a
        /// query often hops to the thread that opened its connection; where PostgreSQL shares the
        /// host's cores, fewer workers leave it more CPU (see `crates/bench-webhook/README.md`).
        "CONVERSA_HTTP_WORKERS" => workers: usize = 0,
        /// The public URL Twilio calls (scheme, host, optional port, no trailing slash); webhook
        /// signatures are checked against URLs built from it, never from the Host header.
        "CONVERSA_PUBLIC_BASE_URL" => public_base_url: String = "http://localhost:8080".to_owned(),
        /// Largest accepted request body, in bytes.
        "CONVERSA_BODY_LIMIT_BYTES" => body_limit_bytes: usize = 64 * 1024,
    }

    /// PostgreSQL: who connects, and the pools.
    database: DatabaseSettings {
        /// PostgreSQL URL of the schema owner: migrations, `seed` and `keys rotate` run with it.
        #[serde(deserialize_with = "parse::secret")]
        "DATABASE_URL" => url: SecretString =
            SecretString::new("postgres://postgres@127.0.0.1:5432/conversa"),
        /// PostgreSQL URL of the application role the service runs as. None (empty): `url` with
        /// the user replaced by `conversa_app` (see [`DatabaseSettings::app_role_url`]).
        #[serde(deserialize_with = "parse::optional_secret")]
        "CONVERSA_APP_DATABASE_URL" => app_url: Option<SecretString> = None,
        /// Most pooled database connections.
        "CONVERSA_DB_POOL_SIZE" => pool_size: usize = 16,
        /// How long a request waits for a pooled connection.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_DB_ACQUIRE_TIMEOUT_MS" => acquire_timeout: Duration = Duration::from_millis(2_000),
        /// `statement_timeout` of every connection.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_DB_STATEMENT_TIMEOUT_MS" => statement_timeout: Duration = Duration::from_millis(10_000),
        /// Pooled connections of the background workers (dispatcher, sweeper): their own pool, so
        /// API load cannot keep them waiting until their send leases lapse.
        "CONVERSA_DB_WORKER_POOL_SIZE" => worker_pool_size: usize = 4,
        /// How long opening a database connection may take.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_DB_CONNECT_TIMEOUT_MS" => connect_timeout: Duration = Duration::from_millis(5_000),
        /// Idle time before a database connection's first TCP keepalive probe; a peer that
        /// vanished is noticed within about twice this (see `PoolSettings::keepalive_idle`).
        #[serde(deserialize_with = "parse::seconds")]
        "CONVERSA_DB_KEEPALIVE_IDLE_SECONDS" => keepalive_idle: Duration = Duration::from_secs(15),
        /// Most inbound messages stored in one statement (group commit of webhooks that arrive
        /// together); 1 stores each alone.
        "CONVERSA_DB_INBOUND_BATCH_MAX" => inbound_batch_max: usize =
            adapters_postgres::InboundBatching::default().max_batch,
        /// Tasks storing inbound batches concurrently (each on a pooled connection while it stores).
        "CONVERSA_DB_INBOUND_FLUSHERS" => inbound_flushers: usize =
            adapters_postgres::InboundBatching::default().flushers,
    }

    /// Twilio: its REST API, and the keys that encrypt tenants' Twilio auth tokens at rest.
    twilio: TwilioSettings {
        /// Twilio's REST API base URL (tests point it at a local fake).
        "CONVERSA_TWILIO_API_BASE_URL" => api_base_url: String =
            adapters_twilio::DEFAULT_API_BASE_URL.to_owned(),
        /// Connect timeout of calls to Twilio.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_TWILIO_CONNECT_TIMEOUT_MS" => connect_timeout: Duration = Duration::from_millis(3_000),
        /// Total timeout of calls to Twilio.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_TWILIO_REQUEST_TIMEOUT_MS" => request_timeout: Duration = Duration::from_millis(10_000),
        /// 64 hex characters: the AES-256 key that encrypts Twilio auth tokens at rest.
        #[serde(deserialize_with = "parse::secret")]
        "CONVERSA_TOKEN_ENCRYPTION_KEY" => token_encryption_key: SecretString = SecretString::new(""),
        /// Keys `token_encryption_key` replaced (comma-separated, 64 hex characters each, blanks
        /// left out): tokens sealed under them are still read, until `conversa keys rotate`
        /// re-seals them under the current key. Never used to seal.
        #[serde(deserialize_with = "parse::secret_list")]
        "CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS" => previous_token_encryption_keys: Vec<SecretString> =
            Vec::new(),
    }

    /// The background workers: the lifecycle sweeper and the outbound dispatcher.
    workers: WorkerSettings {
        /// Whether this instance runs the sweeper and the dispatcher (any number of instances may).
        "CONVERSA_WORKERS_ENABLED" => enabled: bool = true,
        /// Pause between lifecycle sweeps.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_SWEEP_INTERVAL_MS" => sweep_interval: Duration = Duration::from_millis(5_000),
        /// Conversations closed per sweep batch.
        "CONVERSA_SWEEP_BATCH_SIZE" => sweep_batch_size: u32 = 200,
        /// Pause between send-queue polls when idle.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_DISPATCH_INTERVAL_MS" => dispatch_interval: Duration = Duration::from_millis(500),
        /// Send jobs claimed per poll.
        "CONVERSA_DISPATCH_BATCH_SIZE" => dispatch_batch_size: u32 = 10,
        /// How long a claimed send job stays leased to its worker, in seconds.
        "CONVERSA_SEND_LEASE_SECONDS" => send_lease_seconds: u32 = 120,
        /// Send attempts before a message is `failed`.
        "CONVERSA_SEND_MAX_ATTEMPTS" => send_max_attempts: u32 = 6,
        /// First retry delay (exponential backoff with full jitter), in milliseconds.
        "CONVERSA_SEND_BASE_DELAY_MS" => send_base_delay_ms: u64 = 2_000,
        /// Longest retry delay, in milliseconds.
        "CONVERSA_SEND_MAX_DELAY_MS" => send_max_delay_ms: u64 = 300_000,
    }

    /// The inbound path: webhooks, the account cache, and the local spool that keeps webhooks
    /// the database could not store in time.
    webhooks: WebhookSettings {
        /// How long storing a webhook may take before the database counts as unavailable and the
        /// webhook is spooled (Twilio gives up on a webhook after 15 s).
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_WEBHOOK_DEADLINE_MS" => deadline: Duration = Duration::from_millis(3_000),
        /// How long a cached webhook account (token, tenant settings) is used without asking the
        /// database; changes reach every instance sooner through LISTEN/NOTIFY. 0: every webhook
        /// asks (the cache then only serves while the database is down).
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_ACCOUNT_CACHE_TTL_MS" => account_cache_ttl: Duration = Duration::from_millis(60_000),
        /// The directory of the local webhook spool (webhooks accepted while the database was
        /// unavailable). One instance per directory.
        "CONVERSA_SPOOL_DIR" => spool_dir: PathBuf = PathBuf::from(".data/spool"),
        /// The most bytes the spool's waiting webhooks may take; past it, webhooks get 503.
        "CONVERSA_SPOOL_MAX_BYTES" => spool_max_bytes: u64 = 256 * 1024 * 1024,
        /// Pause between attempts to replay the spool while it holds webhooks.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_SPOOL_DRAIN_INTERVAL_MS" => spool_drain_interval: Duration = Duration::from_millis(500),
    }

    /// Events out (ADR 0018): the outbox's retention and the live stream.
    events: EventSettings {
        /// Days events are kept (a stream resumes with `Last-Event-ID` within them); older
        /// ones are pruned by the sweeper.
        "CONVERSA_EVENTS_RETENTION_DAYS" => retention_days: u32 = 7,
        /// Pause between an idle event stream's reads of the outbox: at most this long before
        /// an event reaches a stream on any instance.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_EVENTS_POLL_INTERVAL_MS" => poll_interval: Duration = Duration::from_millis(250),
    }

    /// Per-tenant limits (ADR 0020): the API's rate limits and the send quotas, the defaults a
    /// tenant's `limits` feature overrides.
    limits: LimitSettings {
        /// API requests per minute of one tenant, all its keys together (GCRA, sustained rate).
        "CONVERSA_RATE_LIMIT_PER_MINUTE" => tenant_per_minute: u32 = 600,
        /// API requests one tenant may make at once, above the sustained rate.
        "CONVERSA_RATE_LIMIT_BURST" => tenant_burst: u32 = 100,
        /// API requests per minute of one API key.
        "CONVERSA_KEY_RATE_LIMIT_PER_MINUTE" => key_per_minute: u32 = 300,
        /// API requests one API key may make at once.
        "CONVERSA_KEY_RATE_LIMIT_BURST" => key_burst: u32 = 50,
        /// Instances serving the API: each limits on its own, with the rates and bursts divided
        /// by this (ADR 0020).
        "CONVERSA_RATE_LIMIT_INSTANCES" => instances: u32 = 1,
        /// How long an instance uses a tenant's limits before reading its `limits` feature again:
        /// at most this long before a changed override applies.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_LIMITS_CACHE_TTL_MS" => cache_ttl: Duration = Duration::from_millis(5_000),
        /// Outbound messages a tenant may queue per UTC day; `unlimited` for no quota.
        #[serde(deserialize_with = "parse::quota")]
        "CONVERSA_SEND_QUOTA_PER_DAY" => sends_per_day: Option<u32> = Some(10_000),
        /// Outbound messages a tenant may queue per UTC month; `unlimited` for no quota.
        #[serde(deserialize_with = "parse::quota")]
        "CONVERSA_SEND_QUOTA_PER_MONTH" => sends_per_month: Option<u32> = None,
    }

    /// Outbound webhooks to tenants' endpoints (Standard Webhooks, ADR 0019): the HTTP client,
    /// the retry schedule, when an endpoint is disabled, and how many deliveries run at once.
    outbound_webhooks: OutboundWebhookSettings {
        /// DANGER, development and tests only: also deliver to `http` URLs and to loopback,
        /// private, link-local (cloud metadata) and other non-public addresses. Off, only `https`
        /// to public addresses is accepted, at registration and at every connection.
        "CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS" => allow_private_targets: bool = false,
        /// How long an endpoint has to answer (connection included); later is a failure.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_WEBHOOKS_TIMEOUT_MS" => timeout: Duration = Duration::from_millis(10_000),
        /// The ceiling of the first retry's delay; each next one doubles, up to the maximum
        /// (full jitter: the delay is a random part of the ceiling).
        "CONVERSA_WEBHOOKS_RETRY_BASE_DELAY_MS" => retry_base_delay_ms: u64 =
            domain::WebhookRetryPolicy::default().base_delay_ms,
        /// The largest ceiling of a retry's delay.
        "CONVERSA_WEBHOOKS_RETRY_MAX_DELAY_MS" => retry_max_delay_ms: u64 =
            domain::WebhookRetryPolicy::default().max_delay_ms,
        /// How long a delivery is retried after it was created; the attempt that fails after it
        /// is the last, and the endpoint is then disabled.
        "CONVERSA_WEBHOOKS_RETRY_WINDOW_MS" => retry_window_ms: u64 =
            domain::WebhookRetryPolicy::default().window_ms,
        /// Disable an endpoint after this many failed attempts in a row, across events.
        "CONVERSA_WEBHOOKS_DISABLE_AFTER_FAILURES" => disable_after_failures: u32 = 100,
        /// Deliveries in flight at once on this instance (all endpoints together).
        "CONVERSA_WEBHOOKS_CONCURRENCY" => concurrency: usize = 16,
        /// Deliveries in flight at once for one endpoint (across instances).
        "CONVERSA_WEBHOOKS_PER_ENDPOINT_CONCURRENCY" => per_endpoint_concurrency: usize = 2,
        /// Pause between looks at the outbox and the queue while idle.
        #[serde(deserialize_with = "parse::millis")]
        "CONVERSA_WEBHOOKS_POLL_INTERVAL_MS" => poll_interval: Duration = Duration::from_millis(500),
    }

    /// Logs.
    telemetry: TelemetrySettings {
        /// `json` or `pretty`.
        "CONVERSA_LOG_FORMAT" => log_format: LogFormat = LogFormat::Json,
        /// `tracing` filter directives, e.g. `info,conversa=debug`.
        "CONVERSA_LOG_FILTER" => log_filter: String = "info".to_owned(),
    }

    /// `GET /metrics`.
    metrics: MetricsSettings {
        /// The bearer token `GET /metrics` requires. None (empty): the endpoint is open, so keep
        /// it off the public internet.
        #[serde(deserialize_with = "parse::optional_secret")]
        "CONVERSA_METRICS_TOKEN" => token: Option<SecretString> = None,
    }
}

/// One configuration key: its environment variable and the section field it sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The environment variable, e.g. `CONVERSA_DB_POOL_SIZE`.
    pub env: &'static str,
    /// The section, e.g. `database`.
    pub section: &'static str,
    /// The field of the section, e.g. `pool_size`.
    pub field: &'static str,
}

impl Key {
    /// The key's name in `conversa.toml`: the variable's, in lower case, without `CONVERSA_`.
    #[must_use]
    pub fn file_name(&self) -> String {
        self.env.strip_prefix("CONVERSA_").unwrap_or(self.env).to_ascii_lowercase()
    }

    /// The key named `name` in `conversa.toml`.
    #[must_use]
    pub fn named(name: &str) -> Option<&'static Self> {
        Config::KEYS.iter().find(|key| key.file_name() == name)
    }

    /// The key at `path` (`["database", "pool_size"]`).
    #[must_use]
    pub fn at(path: &[&str]) -> Option<&'static Self> {
        match path {
            [section, field] => {
                Config::KEYS.iter().find(|key| key.section == *section && key.field == *field)
            }
            _ => None,
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

impl Config {
    /// Loads defaults, then `conversa.toml` in the working directory (if present), then the
    /// environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key at fault.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::new().merge(source::FlatFile(Toml::file("conversa.toml"))).merge(source::Environment),
        )
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        // Lossy: the environment gives every value as text; a numeric or boolean field parses it.
        let config: Self = figment.extract_lossy().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }
}

impl LimitSettings {
    /// The limits of a tenant without a `limits` feature.
    #[must_use]
    pub const fn defaults(&self) -> domain::TenantLimits {
        domain::TenantLimits {
            tenant_rate: domain::RateLimit { per_minute: self.tenant_per_minute, burst: self.tenant_burst },
            key_rate: domain::RateLimit { per_minute: self.key_per_minute, burst: self.key_burst },
            sends: domain::SendQuota { per_day: self.sends_per_day, per_month: self.sends_per_month },
        }
    }
}

impl DatabaseSettings {
    /// The application role's URL: `app_url`, or else `url` with the user replaced by
    /// `conversa_app` and no password.
    #[must_use]
    pub fn app_role_url(&self) -> SecretString {
        if let Some(url) = &self.app_url {
            return url.clone();
        }
        let mut url = url::Url::parse(self.url.expose()).expect("validated at load");
        let _ = url.set_username("conversa_app");
        let _ = url.set_password(None);
        SecretString::new(url.to_string())
    }
}

#[cfg(test)]
mod tests;
