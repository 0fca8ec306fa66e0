//! Builds the adapters and the use cases from the configuration: the one place that knows
//! which adapter implements which port.

use std::sync::Arc;
use std::time::Duration;

use adapters_postgres::{PgStore, Sha256ApiKeys, TokenCipher, build_pool};
use adapters_spool::RedbSpool;
use adapters_twilio::{TwilioConfig, TwilioGateway, TwilioSignatureVerifier};
use chrono::{DateTime, Utc};
use domain::RetryPolicy;
use ports::{Clock, Jitter, Pause, WebhookSpool};
use services::{
    ConversationService, EventService, FeatureService, LifecycleSweeper, MessageService, OutboundDispatcher,
    TenantService, TwilioAccountService, TwilioWebhookService,
};

use crate::config::Config;
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
}

/// The store for `config`, storing inbound messages in batches when they arrive together (its
/// flusher tasks run on the current tokio runtime).
///
/// # Errors
/// [`WiringError`].
pub fn store(config: &Config) -> Result<PgStore, WiringError> {
    Ok(PgStore::new(build_pool(&config.pool_settings())?, token_cipher(config)?)
        .with_inbound_deadline(Duration::from_millis(config.webhook_deadline_ms))
        .with_account_cache_ttl(Duration::from_millis(config.account_cache_ttl_ms))
        .with_inbound_batching(config.inbound_batching()))
}

/// The token cipher for `config`: seals under the current key, opens with it or a previous one.
///
/// # Errors
/// [`WiringError::Key`], [`WiringError::PreviousKey`].
pub fn token_cipher(config: &Config) -> Result<TokenCipher, WiringError> {
    TokenCipher::from_hex(&config.token_encryption_key)?
        .with_previous(config.previous_token_keys())
        .map_err(WiringError::PreviousKey)
}

/// Opens the webhook spool for `config` (blocking: at start-up).
///
/// # Errors
/// [`WiringError::Spool`].
pub fn spool(config: &Config) -> Result<RedbSpool, WiringError> {
    Ok(RedbSpool::open(config.spool_settings())?)
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
/// them, with fresh metrics and `GET /metrics` open (see [`Config::metrics_token`]).
#[must_use]
pub fn app_state(store: PgStore, spool: Arc<dyn WebhookSpool>) -> AppState {
    let shared = Arc::new(store.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AppState {
        conversations: ConversationService {
            conversations: shared.clone(),
            features: shared.clone(),
            clock: clock.clone(),
        },
        messages: MessageService {
            conversations: shared.clone(),
            messages: shared.clone(),
            clock: clock.clone(),
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
        twilio_accounts: TwilioAccountService { accounts: shared.clone(), clock },
        events: EventService { log: shared },
        event_stream: crate::routes::events::StreamSettings::default(),
        store,
        spool,
        public_base_url: Config::default().public_base_url,
        metrics: Arc::new(Metrics::new()),
        metrics_token: None,
    }
}

/// The background workers over `store`, on a pool of their own
/// (`CONVERSA_DB_WORKER_POOL_SIZE`), sending through Twilio and recording into `metrics`.
///
/// # Errors
/// [`WiringError::Twilio`], [`WiringError::Pool`].
pub fn workers(config: &Config, store: &PgStore, metrics: Arc<Metrics>) -> Result<Workers, WiringError> {
    // Not the API's pool: under API load a dispatcher waiting for a connection would watch its
    // leases lapse (and their jobs be claimed and sent again by another replica).
    let shared = Arc::new(store.with_pool(build_pool(&config.worker_pool_settings())?));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gateway = TwilioGateway::new(&TwilioConfig {
        api_base_url: config.twilio_api_base_url.clone(),
        status_callback_url: Some(format!("{}/webhooks/twilio/status", config.public_base_url)),
        connect_timeout: Duration::from_millis(config.twilio_connect_timeout_ms),
        request_timeout: Duration::from_millis(config.twilio_request_timeout_ms),
    })?;
    let sweeper = LifecycleSweeper {
        conversations: shared.clone(),
        messages: shared.clone(),
        features: shared.clone(),
        clock: clock.clone(),
        batch_size: config.sweep_batch_size,
    };
    let dispatcher = OutboundDispatcher {
        queue: shared,
        gateway: Arc::new(gateway),
        clock,
        jitter: Arc::new(ThreadRngJitter),
        pause: Arc::new(TokioPause),
        policy: RetryPolicy {
            max_attempts: config.send_max_attempts,
            base_delay_ms: config.send_base_delay_ms,
            max_delay_ms: config.send_max_delay_ms,
        },
        lease: chrono::Duration::seconds(i64::from(config.send_lease_seconds)),
        batch_size: config.dispatch_batch_size,
    };
    Ok(Workers::start(
        sweeper,
        Duration::from_millis(config.sweep_interval_ms),
        dispatcher,
        Duration::from_millis(config.dispatch_interval_ms),
        metrics,
    ))
}
