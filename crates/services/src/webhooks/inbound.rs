//! An inbound message from a customer: store it, then run closure detection on the
//! conversation's latest turns.

use chrono::{DateTime, Utc};
use domain::closure::{ClosureAssessment, ClosureConfig, ClosureDetector, MAX_WINDOW};
use domain::{
    CLOSURE_DETECTION_KIND, ChannelAddress, Conversation, DeliveryStatus, Media, Message, MessageBody,
    MessageDirection, MessageOwner, MessageType, NewAiResult, NewConversation, NewMessage, TenantSettings,
    TwilioAccount,
};
use ports::{InboundStored, StoreError, WebhookAccount};
use serde_json::{Map, Value};

use super::{TwilioWebhookService, message_sid};
use crate::ServiceError;

/// The `model` recorded with a closure assessment.
pub const CLOSURE_MODEL: &str = "conversa-closure-v1";

/// An inbound message as Twilio posts it (`MessageSid`, `From`, `To`, `Body`, `MediaUrlN`,
/// `ProfileName`, `WaId`), after the signature check.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct InboundMessage {
    /// Twilio's id of the message.
    pub message_sid: String,
    /// The customer, `+…` or `whatsapp:+…`.
    pub from: String,
    /// The tenant's number, `+…` or `whatsapp:+…`.
    pub to: String,
    /// The text; blank counts as none.
    pub body: Option<String>,
    /// Attachments.
    pub media: Vec<Media>,
    /// The customer's WhatsApp profile name.
    pub profile_name: Option<String>,
    /// The customer's WhatsApp id.
    pub wa_id: Option<String>,
}

/// What handling an inbound message did.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundOutcome {
    /// The conversation, as it stands after the message (closed if detection closed it).
    pub conversation: Conversation,
    /// The stored message (the earlier copy, for a duplicate).
    pub message: Message,
    /// Whether the message opened the conversation.
    pub conversation_created: bool,
    /// Whether Twilio had already delivered this message: nothing was written or run.
    pub duplicate: bool,
    /// Closure detection's assessment, when it ran.
    pub closure: Option<ClosureAssessment>,
    /// Whether closure detection closed the conversation.
    pub closed: bool,
    /// The tenant's auto-reply, to answer with (never for a duplicate).
    pub auto_reply: Option<String>,
}

impl TwilioWebhookService {
    /// Stores a customer's message in the tenant's active conversation between the two numbers
    /// (opening one if needed), once per `MessageSid`. Then, unless the tenant turned it off,
    /// runs closure detection on the conversation's latest turns and closes the conversation as
    /// `user_closed` when it has ended, recording the assessment on the message. A conversation
    /// closed meanwhile by someone else is not an error, and neither is a failing detection
    /// (logged; the stored message is what matters). `webhook` is what
    /// [`TwilioWebhookService::resolve_account`] found; the tenant's settings come from its
    /// features.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `MessageSid`, `From`, `To`, `Body` or `MediaUrl`
    /// (including a `To` that is not one of the account's numbers); storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %webhook.credentials.account.owner_id, conversation_id, message_id))]
    pub async fn handle_inbound(
        &self,
        webhook: &WebhookAccount,
        input: InboundMessage,
    ) -> Result<InboundOutcome, ServiceError> {
        let account = &webhook.credentials.account;
        let (new_conversation, message) = parse_inbound(account, input)?;
        let owner_id = account.owner_id;
        let settings = TenantSettings::from_features(&webhook.features);
        let now = self.clock.now();
        let candidate = Conversation::open(owner_id, new_conversation, &settings.lifecycle, now);
        // Closure detection's window is read with the store, in its transaction: one round of
        // the database fewer on the webhook's hot path.
        let window = settings.closure.as_ref().map_or(0, |config| {
            // Bounded even if a stored configuration escaped validation.
            u32::try_from(config.window.clamp(1, MAX_WINDOW)).unwrap_or(1)
        });
        let InboundStored { conversation, message, conversation_created, duplicate, recent } =
            self.messages.store_inbound(candidate, message, window, now).await?;
        let span = tracing::Span::current();
        span.record("conversation_id", tracing::field::display(conversation.id));
        span.record("message_id", tracing::field::display(message.id));
        let mut outcome = InboundOutcome {
            conversation,
            message,
            conversation_created,
            duplicate,
            closure: None,
            closed: false,
            auto_reply: None,
        };
        if duplicate {
            tracing::info!("duplicate inbound message ignored");
            return Ok(outcome);
        }
        tracing::info!(conversation_created, "inbound message stored");
        outcome.auto_reply = settings.auto_reply;
        if let Some(config) = settings.closure
            && outcome.conversation.status.is_active()
        {
            // The message is stored and acknowledged either way: failing the webhook here
            // would make Twilio's retry a duplicate that skips detection and the auto-reply.
            if let Err(error) = self.detect_closure(config, &recent, &mut outcome, now).await {
                tracing::warn!(%error, "closure detection failed; the conversation stays open");
            }
        }
        Ok(outcome)
    }

    /// Assesses the conversation's latest turns and closes it when they show it ended.
    async fn detect_closure(
        &self,
        config: ClosureConfig,
        recent: &[Message],
        outcome: &mut InboundOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let conversation = &outcome.conversation;
        let turns: Vec<_> = recent.iter().map(Message::as_turn).collect();
        let assessment = ClosureDetector::new(config).assess(&turns, now);
        tracing::debug!(score = assessment.score, should_close = assessment.should_close, "closure assessed");
        if assessment.should_close {
            let record = NewAiResult {
                kind: CLOSURE_DETECTION_KIND.to_owned(),
                model: Some(CLOSURE_MODEL.to_owned()),
                content: serde_json::to_value(&assessment)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
                score: Some(assessment.score),
            };
            let closed = self
                .conversations
                .close_detected(
                    conversation.owner_id,
                    conversation.id,
                    outcome.message.id,
                    assessment.reason.clone(),
                    record,
                    now,
                )
                .await;
            match closed {
                Ok(detected) => {
                    tracing::info!(score = assessment.score, "conversation closed by closure detection");
                    outcome.conversation = detected.conversation;
                    outcome.closed = true;
                }
                Err(StoreError::ConversationClosed(status)) => {
                    tracing::info!(%status, "conversation was closed meanwhile; detection has nothing to do");
                }
                Err(other) => return Err(other.into()),
            }
        }
        outcome.closure = Some(assessment);
        Ok(())
    }
}

/// Validates Twilio's fields into the conversation to open (if none is active) and the message.
fn parse_inbound(
    account: &TwilioAccount,
    input: InboundMessage,
) -> Result<(NewConversation, NewMessage), ServiceError> {
    let sid = message_sid(&input.message_sid)?;
    let from = ChannelAddress::parse(&input.from).map_err(|e| ServiceError::invalid("From", e))?;
    let to = ChannelAddress::parse(&input.to).map_err(|e| ServiceError::invalid("To", e))?;
    if !account.owns(&to) {
        return Err(ServiceError::invalid("To", "is not one of the account's numbers"));
    }
    if from.channel != to.channel {
        return Err(ServiceError::invalid(
            "From",
            format!("is not on the same channel as `To` ({})", to.channel),
        ));
    }
    let body = input
        .body
        .filter(|text| !text.trim().is_empty())
        .map(MessageBody::new)
        .transpose()
        .map_err(|e| ServiceError::invalid("Body", e))?;
    if body.is_none() && input.media.is_empty() {
        return Err(ServiceError::invalid("Body", "a message needs text or at least one attachment"));
    }
    let mut metadata = Map::new();
    if let Some(name) = input.profile_name.filter(|name| !name.trim().is_empty()) {
        metadata.insert("profile_name".to_owned(), Value::String(name));
    }
    if let Some(wa_id) = input.wa_id.filter(|id| !id.trim().is_empty()) {
        metadata.insert("wa_id".to_owned(), Value::String(wa_id));
    }
    let message = NewMessage {
        direction: MessageDirection::Inbound,
        sender: MessageOwner::User,
        message_type: MessageType::Text,
        body,
        media: input.media,
        context: Value::Object(Map::new()),
        metadata: Value::Object(metadata),
        provider_sid: Some(sid),
        delivery_status: DeliveryStatus::Received,
    }
    .validate()
    .map_err(|e| ServiceError::invalid("MediaUrl", e))?;
    let conversation = NewConversation {
        channel: to.channel,
        customer_phone: from.number,
        business_phone: to.number,
        context: Value::Object(Map::new()),
        metadata: Value::Object(Map::new()),
    };
    Ok((conversation, message))
}
