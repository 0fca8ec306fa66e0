//! Builds the adapters and the use cases from the configuration: the one place that knows
//! which adapter implements which port.

use std::sync::Arc;

use adapters_postgres::{PgStore, Sha256ApiKeys, TokenCipher, build_pool};
use chrono::{DateTime, Utc};
use ports::{Clock, Jitter};
use services::{
    ConversationService, FeatureService, MessageService, TenantService, TwilioAccountService,
    TwilioWebhookService,
};

use crate::config::Config;
use crate::state::AppState;

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

/// Start-up failed before serving.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The token encryption key is missing or malformed.
    #[error("configuration key `CONVERSA_TOKEN_ENCRYPTION_KEY`: {0}")]
    Key(#[from] adapters_postgres::InvalidKey),
    /// The pool could not be built.
    #[error(transparent)]
    Pool(#[from] adapters_postgres::PoolBuildError),
}

/// The store for `config`.
///
/// # Errors
/// [`WiringError`].
pub fn store(config: &Config) -> Result<PgStore, WiringError> {
    let cipher = TokenCipher::from_hex(&config.token_encryption_key)?;
    Ok(PgStore::new(build_pool(&config.pool_settings())?, cipher))
}

/// The use cases over `store`.
#[must_use]
pub fn app_state(store: PgStore) -> AppState {
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
            conversations: shared.clone(),
            messages: shared.clone(),
            features: shared.clone(),
            clock: clock.clone(),
        },
        tenants: TenantService {
            directory: shared.clone(),
            issuer: Arc::new(Sha256ApiKeys),
            clock: clock.clone(),
        },
        features: FeatureService { features: shared.clone(), clock: clock.clone() },
        twilio_accounts: TwilioAccountService { accounts: shared, clock },
        store,
    }
}
