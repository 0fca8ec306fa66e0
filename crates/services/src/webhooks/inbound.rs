//! An inbound message from a customer: store it, then run closure detection on the
//! conversation's latest turns.

use chrono::{DateTime, Utc};
use domain::closure::{ClosureAssessment, ClosureConfig, ClosureDetector, MAX_WINDOW};
use domain::{
    ChannelAddress, Conversation, DeliveryStatus, Media, Message, MessageBody, MessageDirection,
    MessageOwner, MessageSid, MessageTurn, MessageType, NewConversation, NewMessage, PendingClosure,
    TwilioAccount,
};
use ports::{ClosureVerdict, InboundStored, SpooledKind, StoreError, WebhookAccount};
use serde_json::{Map, Value};

use super::{Form, Receipt, SignedWebhook, TwilioWebhookService};
use crate::ServiceError;
use crate::closure::{closure_record, closure_wait};

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
    /// Closure detection's assessment, when it ran (projected to the tenant's grace period of
    /// silence when the grace period is not 0).
    pub closure: Option<ClosureAssessment>,
    /// Whether closure detection closed the conversation (only with a grace period of 0).
    pub closed: bool,
    /// Whether closure detection recorded a pending closure, for the sweeper to confirm when
    /// the grace period ends (`conversation.pending_closure` holds it).
    pub closure_pending: bool,
    /// The tenant's auto-reply, to answer with (never for a duplicate).
    pub auto_reply: Option<String>,
}

/// An inbound message, parsed: the conversation to open if none is active, and the message.
pub(super) struct ParsedInbound {
    conversation: NewConversation,
    message: NewMessage,
}

impl TwilioWebhookService {
    /// A customer's message, from the request as Twilio sent it: verify it (see
    /// [`TwilioWebhookService`]), parse it, then store it in the tenant's active conversation
    /// between the two numbers (opening one if needed), once per `MessageSid` (which ends any
    /// pending closure); then, unless the tenant turned it off, run closure detection on the
    /// conversation's latest turns. When they show it ended, the conversation gets a pending
    /// closure, due after the tenant's grace period, that the lifecycle sweeper confirms or
    /// drops; with a grace period of 0 it is closed as `user_closed` at once, with the
    /// assessment recorded on the message. A conversation closed meanwhile by someone else is
    /// not an error, and neither is a failing detection (logged; the stored message is what
    /// matters). When the database cannot take the message it is spooled instead
    /// ([`Receipt::Spooled`]).
    ///
    /// # Errors
    /// [`ServiceError::InvalidSignature`] for an unknown account or a bad signature;
    /// [`ServiceError::Invalid`] naming `AccountSid`, `MessageSid`, `From`, `To`, `Body`,
    /// `NumMedia` or `MediaUrl` (including a `To` that is not one of the account's numbers);
    /// [`ServiceError::Unavailable`] when the account cannot be looked up, or when neither the
    /// database nor the spool can take the message.
    #[tracing::instrument(skip_all, fields(account_sid, owner_id, conversation_id, message_id))]
    pub async fn receive_inbound(
        &self,
        webhook: SignedWebhook,
    ) -> Result<Receipt<InboundOutcome>, ServiceError> {
        let verified = self.verify(webhook).await?;
        let parsed = parse_inbound(&verified.account.credentials.account, &verified.form)?;
        let now = self.clock.now();
        match self.store_inbound(&verified.account, parsed, now).await {
            Ok(outcome) => Ok(Receipt::Stored(outcome)),
            // Twilio does not retry a failed webhook: a verified, valid message the store could
            // not take, for whatever reason it did not pin on the message, is kept, not lost.
            Err(error @ (StoreError::Unavailable(_) | StoreError::Internal(_))) => {
                self.spool(SpooledKind::Inbound, verified, None, now, &error).await?;
                Ok(Receipt::Spooled)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Stores a parsed message as of `now` and runs closure detection (see
    /// [`TwilioWebhookService::receive_inbound`]).
    pub(super) async fn store_inbound(
        &self,
        webhook: &WebhookAccount,
        parsed: ParsedInbound,
        now: DateTime<Utc>,
    ) -> Result<InboundOutcome, StoreError> {
        let owner_id = webhook.credentials.account.owner_id;
        let span = tracing::Span::current();
        span.record("owner_id", tracing::field::display(owner_id));
        let settings = &webhook.settings;
        let candidate = Conversation::open(owner_id, parsed.conversation, &settings.lifecycle, now);
        // Closure detection's window is read with the store, in its statement: the webhook's
        // hot path is one round trip to the database.
        let window = settings.closure.as_ref().map_or(0, |config| {
            // Bounded even if a stored configuration escaped validation.
            u32::try_from(config.window.clamp(1, MAX_WINDOW)).unwrap_or(1)
        });
        let InboundStored { conversation, message, conversation_created, duplicate, recent } =
            self.messages.store_inbound(candidate, parsed.message, window, now).await?;
        span.record("conversation_id", tracing::field::display(conversation.id));
        span.record("message_id", tracing::field::display(message.id));
        let mut outcome = InboundOutcome {
            conversation,
            message,
            conversation_created,
            duplicate,
            closure: None,
            closed: false,
            closure_pending: false,
            auto_reply: None,
        };
        if duplicate {
            tracing::info!("duplicate inbound message ignored");
            return Ok(outcome);
        }
        tracing::info!(conversation_created, "inbound message stored");
        outcome.auto_reply.clone_from(&settings.auto_reply);
        if let Some(config) = settings.closure.clone()
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

    /// Assesses the conversation's latest turns: with a grace period, as they would stand after
    /// that much silence, proposing a pending closure when they would show it ended; without
    /// one, as they stand, closing it when they show it ended.
    async fn detect_closure(
        &self,
        config: ClosureConfig,
        recent: &[MessageTurn],
        outcome: &mut InboundOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let turns: Vec<_> = recent.iter().map(MessageTurn::as_turn).collect();
        let wait = closure_wait(&config);
        let assessment = ClosureDetector::new(config).assess(&turns, now + wait);
        tracing::debug!(score = assessment.score, should_close = assessment.should_close, "closure assessed");
        if assessment.should_close {
            let result = if wait.is_zero() {
                self.close_now(&assessment, outcome, now).await
            } else {
                self.propose_closure(&assessment, outcome, now + wait, now).await
            };
            match result {
                Ok(()) => {}
                Err(StoreError::ConversationClosed(status)) => {
                    tracing::info!(%status, "conversation was closed meanwhile; detection has nothing to do");
                }
                Err(StoreError::ClosureSuperseded) => {
                    tracing::info!("a newer customer message arrived meanwhile; it is assessed on its own");
                }
                Err(other) => return Err(other),
            }
        }
        outcome.closure = Some(assessment);
        Ok(())
    }

    async fn close_now(
        &self,
        assessment: &ClosureAssessment,
        outcome: &mut InboundOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conversation = &outcome.conversation;
        let detected = self
            .conversations
            .close_detected(
                conversation.owner_id,
                conversation.id,
                ClosureVerdict {
                    message_id: outcome.message.id,
                    confirms_pending: false,
                    reason: assessment.reason.clone(),
                    assessment: closure_record(assessment)?,
                },
                now,
            )
            .await?;
        tracing::info!(score = assessment.score, "conversation closed by closure detection");
        outcome.conversation = detected.conversation;
        outcome.closed = true;
        Ok(())
    }

    async fn propose_closure(
        &self,
        assessment: &ClosureAssessment,
        outcome: &mut InboundOutcome,
        closes_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conversation = &outcome.conversation;
        let pending = PendingClosure {
            message_id: outcome.message.id,
            closes_at,
            score: assessment.score,
            reason: assessment.reason.clone(),
        };
        outcome.conversation =
            self.conversations.propose_closure(conversation.owner_id, conversation.id, pending, now).await?;
        tracing::info!(score = assessment.score, %closes_at, "closure pending");
        outcome.closure_pending = true;
        Ok(())
    }
}

/// Validates Twilio's fields (`MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrlN`,
/// `MediaContentTypeN`, `ProfileName`, `WaId`) into the conversation to open (if none is active)
/// and the message.
pub(super) fn parse_inbound(account: &TwilioAccount, form: &Form) -> Result<ParsedInbound, ServiceError> {
    let sid = form
        .non_empty("MessageSid")
        .or_else(|| form.non_empty("SmsMessageSid"))
        .ok_or_else(|| ServiceError::invalid("MessageSid", "is required"))?;
    let sid = MessageSid::parse(sid).map_err(|e| ServiceError::invalid("MessageSid", e))?;
    let from = ChannelAddress::parse(form.required("From")?).map_err(|e| ServiceError::invalid("From", e))?;
    let to = ChannelAddress::parse(form.required("To")?).map_err(|e| ServiceError::invalid("To", e))?;
    if !account.owns(&to) {
        return Err(ServiceError::invalid("To", "is not one of the account's numbers"));
    }
    if from.channel != to.channel {
        return Err(ServiceError::invalid(
            "From",
            format!("is not on the same channel as `To` ({})", to.channel),
        ));
    }
    let body = form
        .get("Body")
        .filter(|text| !text.trim().is_empty())
        .map(|text| MessageBody::new(text.to_owned()))
        .transpose()
        .map_err(|e| ServiceError::invalid("Body", e))?;
    let media = media(form)?;
    if body.is_none() && media.is_empty() {
        return Err(ServiceError::invalid("Body", "a message needs text or at least one attachment"));
    }
    let mut metadata = Map::new();
    for (field, key) in [("ProfileName", "profile_name"), ("WaId", "wa_id")] {
        if let Some(value) = form.get(field).filter(|value| !value.trim().is_empty()) {
            metadata.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    let message = NewMessage {
        direction: MessageDirection::Inbound,
        sender: MessageOwner::User,
        message_type: MessageType::Text,
        body,
        media,
        template: None,
        context: Value::Object(Map::new()),
        metadata: Value::Object(metadata),
        provider_sid: Some(sid.into()),
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
    Ok(ParsedInbound { conversation, message })
}

/// The attachments: `NumMedia` of them, each `MediaUrlN` with an optional `MediaContentTypeN`.
fn media(form: &Form) -> Result<Vec<Media>, ServiceError> {
    let count: usize = form.number("NumMedia")?.unwrap_or(0);
    if count > NewMessage::MAX_MEDIA {
        return Err(ServiceError::invalid(
            "NumMedia",
            format!("at most {} attachments", NewMessage::MAX_MEDIA),
        ));
    }
    (0..count)
        .map(|n| {
            let url = form
                .owned(&format!("MediaUrl{n}"))
                .ok_or_else(|| ServiceError::invalid("MediaUrl", format!("`MediaUrl{n}` is missing")))?;
            Ok(Media { url, content_type: form.owned(&format!("MediaContentType{n}")) })
        })
        .collect()
}
