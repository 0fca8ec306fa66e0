//! Builds the adapters and the use cases from the configuration: the one place that knows
//! which adapter implements which port.

use std::sync::Arc;
use std::time::Duration;

use adapters_postgres::{InboundBatching, PgStore, PoolSettings, Sha256ApiKeys, TokenCipher, build_pool};
use adapters_spool::{RedbSpool, SpoolSettings};
use adapters_twilio::{TwilioConfig, TwilioGateway, TwilioSignatureVerifier};
use adapters_webhooks::{HttpWebhookSender, SenderSettings};
use chrono::{DateTime, Utc};
use domain::{RetryPolicy, SecretString, WebhookRetryPolicy};
use ports::{Clock, Jitter, Pause, WebhookSender, WebhookSpool};
use services::{
    ConversationService, EventRetention, EventService, FeatureService, LifecycleSweeper, LimitService,
    MessageService, OutboundDispatcher, TenantService, TwilioAccountService, TwilioWebhookService,
    WebhookDeliveryWorker, WebhookEndpointService,
};

use crate::config::{Config, DatabaseSettings};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::workers::Workers;

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Jitter from the thread-local random generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadRngJitter;

impl Jitter for ThreadRngJitter {
    fn sample(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// Waiting on the tokio timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioPause;

#[async_trait::async_trait]
impl Pause for TokioPause {
    async fn pause(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Start-up failed before serving.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The token encryption key is missing or malformed.
    #[error("configuration key `CONVERSA_TOKEN_ENCRYPTION_KEY`: {0}")]
    Key(#[from] adapters_postgres::InvalidKey),
    /// A previous token encryption key is malformed.
    #[error("configuration key `CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS`: {0}")]
    PreviousKey(adapters_postgres::InvalidKey),
    /// The pool could not be built.
    #[error(transparent)]
    Pool(#[from] adapters_postgres::PoolBuildError),
    /// The Twilio client could not be built.
    #[error(transparent)]
    Twilio(#[from] adapters_twilio::TwilioSetupError),
    /// The webhook spool could not be opened.
    #[error(transparent)]
    Spool(#[from] adapters_spool::SpoolOpenError),
    /// The outbound webhook client could not be built.
    #[error(transparent)]
    Webhooks(#[from] adapters_webhooks::WebhookSetupError),
}

/// The outbound webhook client for `config`.
///
/// # Errors
/// [`WiringError::Webhooks`].
pub fn webhook_sender(config: &Config) -> Result<HttpWebhookSender, WiringError> {
    let outbound = &config.outbound_webhooks;
    if outbound.allow_private_targets {
        tracing::warn!(
            "CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS is on: webhooks may reach http URLs and private, \
             loopback and metadata addresses. Never in production."
        );
    }
    Ok(HttpWebhookSender::new(
        SenderSettings { timeout: outbound.timeout, ..SenderSettings::default() }
            .with_private_targets(outbound.allow_private_targets),
    )?)
}

/// The store for `config`, storing inbound messages in batches when they arrive together (its
/// flusher tasks run on the current tokio runtime).
///
/// # Errors
/// [`WiringError`].
pub fn store(config: &Config) -> Result<PgStore, WiringError> {
    let database = &config.database;
    Ok(PgStore::new(build_pool(&pool_settings(database, database.pool_size))?, token_cipher(config)?)
        .with_inbound_deadline(config.webhooks.deadline)
        .with_account_cache_ttl(config.webhooks.account_cache_ttl)
        .with_inbound_batching(InboundBatching {
            flushers: database.inbound_flushers,
            max_batch: database.inbound_batch_max,
        }))
}

/// A pool of at most `max_size` connections of the application role: the API's pool and the
/// workers' differ in size only.
fn pool_settings(database: &DatabaseSettings, max_size: usize) -> PoolSettings {
    PoolSettings {
        url: database.app_role_url(),
        max_size,
        acquire_timeout: database.acquire_timeout,
        connect_timeout: database.connect_timeout,
        statement_timeout: database.statement_timeout,
        keepalive_idle: database.keepalive_idle,
    }
}

/// The token cipher for `config`: seals under the current key, opens with it or a previous one.
///
/// # Errors
/// [`WiringError::Key`], [`WiringError::PreviousKey`].
pub fn token_cipher(config: &Config) -> Result<TokenCipher, WiringError> {
    let twilio = &config.twilio;
    TokenCipher::from_hex(twilio.token_encryption_key.expose())?
        .with_previous(twilio.previous_token_encryption_keys.iter().map(SecretString::expose))
        .map_err(WiringError::PreviousKey)
}

/// Opens the webhook spool for `config` (blocking: at start-up).
///
/// # Errors
/// [`WiringError::Spool`].
pub fn spool(config: &Config) -> Result<RedbSpool, WiringError> {
    let webhooks = &config.webhooks;
    Ok(RedbSpool::open(SpoolSettings {
        dir: webhooks.spool_dir.clone(),
        max_bytes: webhooks.spool_max_bytes,
    })?)
}

/// Tenants, users and API keys over `store` (what the operator commands need).
#[must_use]
pub fn tenants(store: PgStore) -> TenantService {
    TenantService {
        directory: Arc::new(store),
        issuer: Arc::new(Sha256ApiKeys),
        clock: Arc::new(SystemClock),
    }
}

/// The use cases over `store`, webhooks spooling into `spool` when the database cannot take
/// them, with fresh metrics; the public URL and the metrics token from `config`.
///
/// # Errors
/// [`WiringError::Webhooks`].
pub fn app_state(
    config: &Config,
    store: PgStore,
    spool: Arc<dyn WebhookSpool>,
) -> Result<AppState, WiringError> {
    let shared = Arc::new(store.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let limits = LimitService::new(
        shared.clone(),
        shared.clone(),
        clock.clone(),
        config.limits.defaults(),
        chrono::Duration::from_std(config.limits.cache_ttl).unwrap_or(chrono::Duration::MAX),
    );
    let sender: Arc<dyn WebhookSender> = Arc::new(webhook_sender(config)?);
    Ok(AppState {
        conversations: ConversationService {
            conversations: shared.clone(),
            features: shared.clone(),
            clock: clock.clone(),
        },
        messages: MessageService {
            conversations: shared.clone(),
            messages: shared.clone(),
            clock: clock.clone(),
            limits: limits.clone(),
        },
        webhooks: TwilioWebhookService {
            accounts: shared.clone(),
            verifier: Arc::new(TwilioSignatureVerifier),
            conversations: shared.clone(),
            messages: shared.clone(),
            spool: spool.clone(),
            clock: clock.clone(),
        },
        tenants: tenants(store.clone()),
        features: FeatureService { features: shared.clone(), clock: clock.clone() },
        twilio_accounts: TwilioAccountService { accounts: shared.clone(), clock: clock.clone() },
        webhook_endpoints: WebhookEndpointService {
            endpoints: shared.clone(),
            sender,
            clock,
            allow_http: config.outbound_webhooks.allow_private_targets,
        },
        events: EventService { log: shared },
        limits,
        rate_limiter: Arc::new(crate::rate_limit::ApiRateLimiter::new(config.limits.instances)),
        event_stream: crate::routes::events::StreamSettings {
            poll_interval: config.events.poll_interval,
            ..crate::routes::events::StreamSettings::default()
        },
        store,
        spool,
        public_base_url: config.http.public_base_url.clone(),
        metrics: Arc::new(Metrics::new()),
        metrics_token: config.metrics.token.clone(),
    })
}

/// Events pruned per round of the event retention (one short statement each).
const EVENT_PRUNE_BATCH: usize = 1_000;

/// The background workers over `store`, on a pool of their own
/// (`CONVERSA_DB_WORKER_POOL_SIZE`), sending through Twilio and recording into `metrics`.
///
/// # Errors
/// [`WiringError::Twilio`], [`WiringError::Pool`], [`WiringError::Webhooks`].
pub fn workers(config: &Config, store: &PgStore, metrics: Arc<Metrics>) -> Result<Workers, WiringError> {
    // Not the API's pool: under API load a dispatcher waiting for a connection would watch its
    // leases lapse (and their jobs be claimed and sent again by another replica).
    let database = &config.database;
    let shared = Arc::new(store.with_pool(build_pool(&pool_settings(database, database.worker_pool_size))?));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gateway = TwilioGateway::new(&TwilioConfig {
        api_base_url: config.twilio.api_base_url.clone(),
        status_callback_url: Some(format!("{}/webhooks/twilio/status", config.http.public_base_url)),
        connect_timeout: config.twilio.connect_timeout,
        request_timeout: config.twilio.request_timeout,
    })?;
    let workers = &config.workers;
    let sweeper = LifecycleSweeper {
        conversations: shared.clone(),
        messages: shared.clone(),
        features: shared.clone(),
        clock: clock.clone(),
        batch_size: workers.sweep_batch_size,
    };
    let retention = EventRetention {
        log: shared.clone(),
        clock: clock.clone(),
        keep: chrono::Duration::days(i64::from(config.events.retention_days)),
        batch_size: EVENT_PRUNE_BATCH,
    };
    let shared_for_webhooks = shared.clone();
    let dispatcher = OutboundDispatcher {
        queue: shared,
        gateway: Arc::new(gateway),
        clock,
        jitter: Arc::new(ThreadRngJitter),
        pause: Arc::new(TokioPause),
        policy: RetryPolicy {
            max_attempts: workers.send_max_attempts,
            base_delay_ms: workers.send_base_delay_ms,
            max_delay_ms: workers.send_max_delay_ms,
        },
        lease: chrono::Duration::seconds(i64::from(workers.send_lease_seconds)),
        batch_size: workers.dispatch_batch_size,
    };
    let outbound = &config.outbound_webhooks;
    let deliveries = WebhookDeliveryWorker {
        queue: shared_for_webhooks,
        sender: Arc::new(webhook_sender(config)?),
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        policy: WebhookRetryPolicy {
            base_delay_ms: outbound.retry_base_delay_ms,
            max_delay_ms: outbound.retry_max_delay_ms,
            window_ms: outbound.retry_window_ms,
        },
        disable_after_failures: outbound.disable_after_failures,
        // Longer than any attempt can take, so a live attempt never loses its claim.
        lease: chrono::Duration::from_std(outbound.timeout).unwrap_or(chrono::Duration::seconds(60))
            + chrono::Duration::seconds(60),
        per_endpoint: outbound.per_endpoint_concurrency,
        fan_out_batch: WEBHOOK_FAN_OUT_BATCH,
    };
    let wake = Arc::new(tokio::sync::Notify::new());
    let listener =
        store.listen_for_webhook_deliveries(database.app_role_url().expose().to_owned(), wake.clone());
    let loop_settings = crate::workers::DeliveryLoop {
        concurrency: outbound.concurrency,
        poll_interval: outbound.poll_interval,
        wake,
        listener: Some(listener),
    };
    Ok(Workers::start(
        sweeper,
        workers.sweep_interval,
        dispatcher,
        workers.dispatch_interval,
        retention,
        metrics.clone(),
    )
    .with(Workers::webhook_deliveries(deliveries, loop_settings, metrics)))
}

/// Events fanned out per endpoint per round of the delivery worker.
const WEBHOOK_FAN_OUT_BATCH: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workers_get_their_own_small_pool_with_the_same_timeouts() {
        let database = DatabaseSettings {
            worker_pool_size: 3,
            connect_timeout: Duration::from_millis(1500),
            keepalive_idle: Duration::from_secs(9),
            url: SecretString::new("postgres://owner:pw@db:5432/conversa"),
            ..DatabaseSettings::default()
        };
        let (api, workers) = (
            pool_settings(&database, database.pool_size),
            pool_settings(&database, database.worker_pool_size),
        );
        assert_eq!((api.max_size, workers.max_size), (16, 3));
        for settings in [api, workers] {
            assert_eq!(
                settings.url.expose(),
                "postgres://conversa_app@db:5432/conversa",
                "the application role"
            );
            assert_eq!(settings.acquire_timeout, Duration::from_millis(2_000));
            assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
            assert_eq!(settings.keepalive_idle, Duration::from_secs(9));
        }
    }
}
