//! What every request handler can reach.

use std::sync::Arc;

use adapters_postgres::PgStore;
use domain::SecretString;
use ports::WebhookSpool;
use services::{
    ConversationService, EventService, FeatureService, LimitService, MessageService, TenantService,
    TwilioAccountService, TwilioWebhookService, WebhookEndpointService,
};

use crate::metrics::Metrics;

/// The use cases, wired to their adapters, the store for readiness checks, and the metrics.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Conversations.
    pub conversations: ConversationService,
    /// Messages and AI results.
    pub messages: MessageService,
    /// Twilio webhooks.
    pub webhooks: TwilioWebhookService,
    /// Tenants, users, API keys (and authentication).
    pub tenants: TenantService,
    /// Features.
    pub features: FeatureService,
    /// Twilio accounts.
    pub twilio_accounts: TwilioAccountService,
    /// Tenants' limits in force, and their usage.
    pub limits: LimitService,
    /// The API's rate limits of this instance.
    pub rate_limiter: Arc<crate::rate_limit::ApiRateLimiter>,
    /// Webhook endpoints and their deliveries.
    pub webhook_endpoints: WebhookEndpointService,
    /// The tenant's event stream.
    pub events: EventService,
    /// How event streams wait for events.
    pub event_stream: crate::routes::events::StreamSettings,
    /// The database, for readiness.
    pub store: PgStore,
    /// The webhook spool, for its metrics.
    pub spool: Arc<dyn WebhookSpool>,
    /// The public URL Twilio calls; webhook signatures are checked against it.
    pub public_base_url: String,
    /// What `GET /metrics` exports; the background workers record into it too.
    pub metrics: Arc<Metrics>,
    /// The bearer token `GET /metrics` requires; `None`: it is open.
    pub metrics_token: Option<SecretString>,
}
