//! What every request handler can reach.

use adapters_postgres::PgStore;
use services::{
    ConversationService, FeatureService, MessageService, TenantService, TwilioAccountService,
    TwilioWebhookService,
};

/// The use cases, wired to their adapters, and the store for readiness checks.
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
    /// The database, for readiness.
    pub store: PgStore,
    /// The public URL Twilio calls; webhook signatures are checked against it.
    pub public_base_url: String,
}
