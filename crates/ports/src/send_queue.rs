use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::{ChannelAddress, DeliveryStatus, Message, SendJob};

use crate::{ChannelCredentials, DeliveryFailure, StoreError};

/// A send job claimed by a worker, with what is needed to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedSend {
    /// The job.
    pub job: SendJob,
    /// The message to send.
    pub message: Message,
    /// The tenant's number it goes out from.
    pub from: ChannelAddress,
    /// The customer's number.
    pub to: ChannelAddress,
    /// The credentials of the tenant's account that owns `from`; `None` when no active account
    /// owns it any more (the send then fails permanently).
    pub credentials: Option<ChannelCredentials>,
}

/// How many send jobs wait, across every tenant, at one moment. A claimed job's lease is stored
/// as its next run time, so a leased job and one backing off before a retry look alike: both
/// are `deferred`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendQueueDepth {
    /// Jobs due now and not leased: waiting for a worker.
    pub due: u64,
    /// Jobs not due yet: leased to a worker, or waiting for a retry.
    pub deferred: u64,
    /// When the longest-waiting due job became due; `None` when no job is due.
    pub oldest_due_at: Option<DateTime<Utc>>,
}

/// The outbound send queue. Jobs are stored together with their message (see
/// `MessageStore::append_message`); workers of any instance claim them here.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SendQueue: Send + Sync {
    /// Claims up to `limit` jobs of any tenant due at `now`, with `SKIP LOCKED`, leasing them
    /// for `lease`: a job whose worker died becomes claimable again when its lease ends, so
    /// sending is at-least-once and no job is lost.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedSend>, StoreError>;

    /// The provider accepted the message: store its id and status, and drop the job.
    ///
    /// # Errors
    /// MUST return [`StoreError::Conflict`] with [`ConflictKind::MessageSidTaken`] when another
    /// message of the tenant already has that id; [`StoreError::Unavailable`].
    ///
    /// [`ConflictKind::MessageSidTaken`]: crate::ConflictKind::MessageSidTaken
    async fn mark_sent(
        &self,
        job: SendJob,
        provider_sid: String,
        status: DeliveryStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A retryable failure: try again at `retry_at`, counting the attempt.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn schedule_retry(
        &self,
        job: SendJob,
        retry_at: DateTime<Utc>,
        error: String,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Gives up: the message becomes `failed` with `failure`, and the job is dropped.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn mark_failed(
        &self,
        job: SendJob,
        failure: DeliveryFailure,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Counts the jobs of every tenant as they stand at `now`, for monitoring. Reads only: it
    /// claims and locks nothing, so it never competes with the workers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn depth(&self, now: DateTime<Utc>) -> Result<SendQueueDepth, StoreError>;
}
