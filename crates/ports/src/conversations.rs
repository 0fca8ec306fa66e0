use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AiResult, Conversation, ConversationId, ConversationStatus, MessageId, NewAiResult, OwnerId,
    PendingClosure,
};

use crate::{Page, PageRequest, StoreError};

/// Which conversations a listing returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only these states (never empty; the use case defaults it to the active ones).
    pub statuses: Vec<ConversationStatus>,
}

/// A conversation closed because closure detection decided it had ended, with the assessment
/// recorded as an AI result on the message that triggered it.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectedClosure {
    /// The conversation, now `user_closed`.
    pub conversation: Conversation,
    /// The recorded assessment.
    pub ai_result: AiResult,
}

/// Closure detection's verdict that a customer message ended its conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosureVerdict {
    /// The customer message the verdict is based on.
    pub message_id: MessageId,
    /// Whether it confirms the conversation's pending closure (the sweeper), rather than
    /// closing at once (a grace period of 0).
    pub confirms_pending: bool,
    /// The close reason.
    pub reason: String,
    /// The assessment, recorded as an AI result of the message.
    pub assessment: NewAiResult,
}

/// What one claim of the lifecycle sweep found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepBatch {
    /// Conversations closed as `expired` or `idle_timeout`.
    pub closed: Vec<Conversation>,
    /// Conversations whose pending closure is due: leased to this sweeper (no other sweeper
    /// claims them for the lease) for closure detection to re-assess.
    pub closures_due: Vec<Conversation>,
    /// How many conversations were claimed in all (also those only re-scheduled): a batch
    /// claimed in full means more may be due.
    pub claimed: usize,
}

/// Conversations of a tenant and their lifecycle transitions. Each transition method locks the
/// row, applies the domain rule and writes the result in one transaction, so two concurrent
/// closes cannot both succeed.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores `candidate` unless the tenant already has an active conversation between the
    /// same business and customer numbers, which is returned instead. The boolean says whether
    /// `candidate` was created. At most one active conversation per (tenant, business number,
    /// customer number) exists even under concurrent calls.
    ///
    /// # Errors
    /// MUST return [`StoreError::Unavailable`] when the store cannot be reached.
    async fn open_or_get_active(&self, candidate: Conversation) -> Result<(Conversation, bool), StoreError>;

    /// One conversation of the tenant.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown id or another tenant's.
    async fn get_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError>;

    /// The tenant's conversations in `filter`'s states, newest first, one keyset page.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_conversations(
        &self,
        owner_id: OwnerId,
        filter: ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>, StoreError>;

    /// Closes the conversation with the final `status` (see `Conversation::close`).
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id and
    /// [`StoreError::ConversationClosed`] when it is already final.
    async fn close_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        status: ConversationStatus,
        reason: String,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Closes the conversation as `user_closed` on closure detection's `verdict` and records its
    /// assessment on the verdict's message, both or neither (see
    /// `Conversation::close_detected`): only while that message is the customer's latest and,
    /// when the verdict confirms a pending closure, while that pending closure still stands.
    ///
    /// # Errors
    /// As [`ConversationStore::close_conversation`], and MUST return
    /// [`StoreError::ClosureSuperseded`] when a newer customer message was stored or the pending
    /// closure was dropped.
    async fn close_detected(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        verdict: ClosureVerdict,
        at: DateTime<Utc>,
    ) -> Result<DetectedClosure, StoreError>;

    /// Records a pending closure on the conversation (see `Conversation::propose_closure`) and
    /// makes the sweep look at it by `pending.closes_at`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::ConversationClosed`], and MUST return
    /// [`StoreError::ClosureSuperseded`] when `pending.message_id` is no longer the customer's
    /// latest message.
    async fn propose_closure(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        pending: PendingClosure,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Drops the pending closure based on `message_id`, if the conversation still holds it
    /// (see `Conversation::drop_pending_closure`); returns the conversation either way.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Unavailable`].
    async fn drop_pending_closure(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        message_id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Extends the conversation by up to `by_seconds` (see `Conversation::extend`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::ConversationClosed`], or
    /// [`StoreError::Rejected`] when no time can be added.
    async fn extend_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        by_seconds: i64,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Claims up to `limit` active conversations of any tenant that are due at `now`: closes
    /// each one expired or idle past its idle timeout as `expired` or `idle_timeout`, and leases
    /// each one whose pending closure is due to the caller for `lease` (returned in
    /// [`SweepBatch::closures_due`]; if the caller does not resolve it, it is due again when
    /// the lease ends). Rows are claimed with `SKIP LOCKED`: concurrent sweepers never close one
    /// twice, nor take the same pending closure within a lease.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn sweep_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<SweepBatch, StoreError>;
}
