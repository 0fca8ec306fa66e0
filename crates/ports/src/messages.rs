use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AiResult, Conversation, ConversationId, DeliveryStatus, Message, MessageId, MessageTurn, NewAiResult,
    NewMessage, OwnerId, SendQuota,
};

use crate::{Page, PageRequest, StoreError};

/// The result of storing an inbound message.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundStored {
    /// The conversation the message landed in, after the message was recorded.
    pub conversation: Conversation,
    /// The stored message (the earlier copy, for a duplicate).
    pub message: Message,
    /// Whether the conversation was opened by this message.
    pub conversation_created: bool,
    /// Whether the provider id was already stored: nothing was written.
    pub duplicate: bool,
    /// What closure detection reads of the conversation's latest messages up to the requested
    /// window, oldest first, the new message last, read in the same transaction (empty for a
    /// duplicate or a window of 0).
    pub recent: Vec<MessageTurn>,
}

/// A message appended to a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendedMessage {
    /// The stored message.
    pub message: Message,
    /// The conversation after recording it.
    pub conversation: Conversation,
}

/// Messages queued for sending in the current periods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendCounts {
    /// In the UTC day.
    pub day: u32,
    /// In the UTC month.
    pub month: u32,
}

/// Why a provider reported a message as not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The provider's error code (Twilio's `ErrorCode`).
    pub code: Option<i32>,
    /// A description.
    pub message: Option<String>,
}

/// What a delivery-status callback did.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryUpdate {
    /// The status moved forward; the message as updated.
    Advanced(Message),
    /// The callback was late or repeated; the message is unchanged.
    Unchanged(Message),
    /// No message of the tenant has that provider id (nor, when the callback names one, is
    /// the message it names waiting for one).
    UnknownSid,
}

/// Messages and their AI results.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores an inbound message in one transaction: get the tenant's active conversation for
    /// `candidate`'s numbers (closing it as `expired` and opening `candidate` instead if it is
    /// past its expiry), or open `candidate`; insert the message unless its provider id is
    /// already stored; record it on the conversation (`pending` → `progress`); and read the
    /// conversation's latest `window` messages (closure detection's input) while the
    /// conversation is still locked, so no concurrent message slips in between.
    ///
    /// # Errors
    /// MUST return [`StoreError::Unavailable`] when the store cannot be reached; nothing is
    /// written then.
    async fn store_inbound(
        &self,
        candidate: Conversation,
        message: NewMessage,
        window: u32,
        at: DateTime<Utc>,
    ) -> Result<InboundStored, StoreError>;

    /// Appends a message to an active conversation. With `send` the message is also queued
    /// for sending (a send job) and counted against the tenant's send quota of the UTC day and
    /// month holding `at`, in the same transaction: it is never stored without its job, and
    /// the count is exact however many instances queue at once (two racing for the last unit
    /// of a quota: exactly one gets it).
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign conversation,
    /// [`StoreError::ConversationClosed`] for a final one, and [`StoreError::QuotaExceeded`]
    /// when a quota of `send` is used up; nothing is written in any of these cases.
    async fn append_message(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        message: NewMessage,
        send: Option<SendQuota>,
        at: DateTime<Utc>,
    ) -> Result<AppendedMessage, StoreError>;

    /// The messages the tenant has queued for sending in the UTC day and month holding `at`
    /// (what its send quotas count).
    ///
    /// # Errors
    /// Storage errors only.
    async fn send_counts(&self, owner_id: OwnerId, at: DateTime<Utc>) -> Result<SendCounts, StoreError>;

    /// One message.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn get_message(&self, owner_id: OwnerId, id: MessageId) -> Result<Message, StoreError>;

    /// A conversation's messages, oldest first, one keyset page.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign conversation.
    async fn list_messages(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError>;

    /// Applies a provider's status callback, only ever moving the status forward (see
    /// `DeliveryStatus::advance`), recording `failure` when the new status is a failure.
    ///
    /// The message is the tenant's one with `provider_sid`; failing that, when the callback
    /// names our `message_id` (its signed URL carries it), the tenant's message with that id
    /// that has no provider id yet: a callback that arrives before the dispatcher recorded
    /// Twilio's answer then records `provider_sid` on it. A `message_id` of another tenant, or
    /// of a message that has another provider id, finds nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn apply_delivery_status(
        &self,
        owner_id: OwnerId,
        message_id: Option<MessageId>,
        provider_sid: String,
        status: DeliveryStatus,
        failure: Option<DeliveryFailure>,
        at: DateTime<Utc>,
    ) -> Result<DeliveryUpdate, StoreError>;

    /// What closure detection reads of a conversation's latest `window` messages, oldest first
    /// (the sweeper's re-assessment of a pending closure).
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign conversation.
    async fn recent_turns(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        window: u32,
    ) -> Result<Vec<MessageTurn>, StoreError>;

    /// Attaches an AI result to a message.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign message.
    async fn add_ai_result(
        &self,
        owner_id: OwnerId,
        message_id: MessageId,
        result: NewAiResult,
        at: DateTime<Utc>,
    ) -> Result<AiResult, StoreError>;

    /// The AI results of a message, oldest first.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign message.
    async fn list_ai_results(
        &self,
        owner_id: OwnerId,
        message_id: MessageId,
    ) -> Result<Vec<AiResult>, StoreError>;
}
