//! Conversation use cases: open (or find) a conversation, read, list, close and extend.

use std::sync::Arc;

use domain::{
    Channel, ChannelAddress, Conversation, ConversationId, ConversationStatus, NewConversation, Principal,
    UserRole,
};
use ports::{Clock, ConversationFilter, ConversationStore, FeatureStore, Page, PageRequest};
use serde_json::Value;

use crate::input::{bounded_text, json_object};
use crate::settings::tenant_settings;
use crate::{ServiceError, authz::require};

/// The longest close reason accepted, in characters.
pub const MAX_CLOSE_REASON_CHARS: usize = 500;

/// Input to open a conversation (or get the active one between the same numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateConversation {
    /// The customer's number, `+…` or `whatsapp:+…`.
    pub customer_phone: String,
    /// The tenant's number, `+…` or `whatsapp:+…`.
    pub business_phone: String,
    /// The channel; when absent, `whatsapp:` on either number means WhatsApp, else SMS.
    pub channel: Option<Channel>,
    /// Initial context, a JSON object.
    pub context: Option<Value>,
    /// Initial metadata, a JSON object.
    pub metadata: Option<Value>,
}

/// The conversation [`ConversationService::create_or_get`] returned.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenedConversation {
    /// The conversation.
    pub conversation: Conversation,
    /// Whether it was created by this call (`false`: an active one already existed).
    pub created: bool,
}

/// Conversation use cases of a tenant.
#[derive(Clone)]
pub struct ConversationService {
    /// Conversations.
    pub conversations: Arc<dyn ConversationStore>,
    /// Features, for the tenant's lifecycle settings.
    pub features: Arc<dyn FeatureStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ConversationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationService").finish_non_exhaustive()
    }
}

impl ConversationService {
    /// Opens a conversation between the two numbers under the tenant's lifecycle settings, or
    /// returns the tenant's active one between them. Requires `agent`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `customer_phone`,
    /// `business_phone`, `context` or `metadata`; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn create_or_get(
        &self,
        principal: &Principal,
        input: CreateConversation,
    ) -> Result<OpenedConversation, ServiceError> {
        require(principal, UserRole::Agent)?;
        let new = new_conversation(input)?;
        let settings = tenant_settings(self.features.as_ref(), principal.owner_id).await?;
        let candidate = Conversation::open(principal.owner_id, new, &settings.lifecycle, self.clock.now());
        let (conversation, created) = self.conversations.open_or_get_active(candidate).await?;
        tracing::info!(conversation_id = %conversation.id, created, "conversation opened or found");
        Ok(OpenedConversation { conversation, created })
    }

    /// One conversation of the tenant. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, conversation_id = %id))]
    pub async fn get(&self, principal: &Principal, id: ConversationId) -> Result<Conversation, ServiceError> {
        require(principal, UserRole::Viewer)?;
        Ok(self.conversations.get_conversation(principal.owner_id, id).await?)
    }

    /// The tenant's conversations in `statuses` (the active ones when `None` or empty), newest
    /// first. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list(
        &self,
        principal: &Principal,
        statuses: Option<Vec<ConversationStatus>>,
        page: PageRequest,
    ) -> Result<Page<Conversation>, ServiceError> {
        require(principal, UserRole::Viewer)?;
        let mut statuses = statuses.unwrap_or_default();
        if statuses.is_empty() {
            statuses = ConversationStatus::ACTIVE.to_vec();
        }
        let filter = ConversationFilter { statuses };
        Ok(self.conversations.list_conversations(principal.owner_id, filter, page).await?)
    }

    /// Closes the conversation with `status` (default `agent_closed`) and a reason of 1 to
    /// [`MAX_CLOSE_REASON_CHARS`] characters. `expired` and `idle_timeout` are the sweeper's
    /// and are refused here. Requires `agent`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `status` or `reason`;
    /// [`ServiceError::NotFound`]; [`ServiceError::ConversationClosed`]; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, conversation_id = %id))]
    pub async fn close(
        &self,
        principal: &Principal,
        id: ConversationId,
        status: Option<ConversationStatus>,
        reason: &str,
    ) -> Result<Conversation, ServiceError> {
        require(principal, UserRole::Agent)?;
        let status = status.unwrap_or(ConversationStatus::AgentClosed);
        if matches!(
            status,
            ConversationStatus::Pending
                | ConversationStatus::Progress
                | ConversationStatus::Expired
                | ConversationStatus::IdleTimeout
        ) {
            return Err(ServiceError::invalid(
                "status",
                format!(
                    "`{status}` cannot be set by hand; use agent_closed, support_closed, user_closed or failed"
                ),
            ));
        }
        let reason = bounded_text("reason", reason, MAX_CLOSE_REASON_CHARS)?;
        let now = self.clock.now();
        let closed =
            self.conversations.close_conversation(principal.owner_id, id, status, reason, now).await?;
        tracing::info!(status = %closed.status, "conversation closed");
        Ok(closed)
    }

    /// Moves the conversation's expiry forward by up to `seconds` (bounded by the
    /// conversation's maximum extension and lifetime). Requires `agent`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `seconds` when it is not
    /// positive; [`ServiceError::NotFound`]; [`ServiceError::ConversationClosed`];
    /// [`ServiceError::Rejected`] when no time can be added; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, conversation_id = %id))]
    pub async fn extend(
        &self,
        principal: &Principal,
        id: ConversationId,
        seconds: i64,
    ) -> Result<Conversation, ServiceError> {
        require(principal, UserRole::Agent)?;
        if seconds <= 0 {
            return Err(ServiceError::invalid("seconds", "must be a positive number of seconds"));
        }
        let now = self.clock.now();
        let extended = self.conversations.extend_conversation(principal.owner_id, id, seconds, now).await?;
        tracing::info!(expires_at = %extended.expires_at, "conversation extended");
        Ok(extended)
    }
}

/// Parses the numbers and decides the channel: an explicit `channel` must agree with the
/// `whatsapp:` prefixes; without one, a prefix on either number means WhatsApp.
fn new_conversation(input: CreateConversation) -> Result<NewConversation, ServiceError> {
    let customer = parse_address("customer_phone", &input.customer_phone)?;
    let business = parse_address("business_phone", &input.business_phone)?;
    let prefixed = [("customer_phone", &customer), ("business_phone", &business)]
        .into_iter()
        .find(|(_, address)| address.channel == Channel::Whatsapp);
    let channel = match (input.channel, prefixed) {
        (Some(Channel::Sms), Some((field, _))) => {
            return Err(ServiceError::invalid(field, "a `whatsapp:` number contradicts channel `sms`"));
        }
        (Some(channel), _) => channel,
        (None, Some(_)) => Channel::Whatsapp,
        (None, None) => Channel::Sms,
    };
    Ok(NewConversation {
        channel,
        customer_phone: customer.number,
        business_phone: business.number,
        context: json_object("context", input.context)?,
        metadata: json_object("metadata", input.metadata)?,
    })
}

fn parse_address(field: &'static str, raw: &str) -> Result<ChannelAddress, ServiceError> {
    ChannelAddress::parse(raw).map_err(|e| ServiceError::invalid(field, e))
}
