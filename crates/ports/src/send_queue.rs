use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::{ChannelAddress, DeliveryStatus, Message, SendJob};

use crate::{ChannelCredentials, DeliveryFailure, StoreError};

/// A send job claimed by a worker, with what is needed to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedSend {
    /// The job, with the token of this claim.
    pub job: SendJob,
    /// The message to send. When it already has a provider id (an earlier claim was accepted
    /// but could not record it, and the status callback did), it MUST NOT be sent again.
    pub message: Message,
    /// The tenant's number it goes out from.
    pub from: ChannelAddress,
    /// The customer's number.
    pub to: ChannelAddress,
    /// The credentials of the tenant's active account that owns `from`, or why nothing may be
    /// sent (the send then fails permanently, without calling the provider).
    pub credentials: Result<ChannelCredentials, Unsendable>,
}

/// Why a claimed job may not be sent at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsendable {
    /// The tenant is deactivated: it sends nothing.
    #[error("not sent: the tenant is deactivated")]
    TenantInactive,
    /// The tenant's account that owns the sending number is deactivated.
    #[error("not sent: the Twilio account {account} that owns {from} is deactivated")]
    AccountInactive {
        /// The account (Twilio's Account SID).
        account: String,
        /// The sending number.
        from: String,
    },
    /// None of the tenant's accounts owns the sending number.
    #[error("no active account owns {from}")]
    NoAccount {
        /// The sending number.
        from: String,
    },
}

/// Whether an outcome was recorded under the claim that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The claim still held the job: the outcome applies.
    Applied,
    /// The job is no longer held by this claim (its lease lapsed and it was claimed again, or
    /// it is gone): the job is left to its holder.
    LeaseLost,
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
    /// for `lease`: a job whose worker died becomes claimable again when its lease ends, so no
    /// job is lost. Every claim carries a new [`domain::SendLease`]; the outcomes below apply only
    /// under it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedSend>, StoreError>;

    /// The provider accepted the message. Its id is stored on the message unless the message
    /// already has one (the first acceptance recorded wins), and its status only moves forward,
    /// whoever holds the job: that is a fact about the message, and it is what keeps any later
    /// claim from sending it again. The job is dropped only while `job.lease` holds it.
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
    ) -> Result<Recorded, StoreError>;

    /// A retryable failure: try again at `retry_at`, counting the attempt; only while
    /// `job.lease` holds the job (the claim ends with it).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn schedule_retry(
        &self,
        job: SendJob,
        retry_at: DateTime<Utc>,
        error: String,
        at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Gives up: the message becomes `failed` with `failure` (unless its status is already past
    /// that, see `DeliveryStatus::advance`), and the job is dropped; only while `job.lease`
    /// holds the job.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn mark_failed(
        &self,
        job: SendJob,
        failure: DeliveryFailure,
        at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Counts the jobs of every tenant as they stand at `now`, for monitoring. Reads only: it
    /// claims and locks nothing, so it never competes with the workers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn depth(&self, now: DateTime<Utc>) -> Result<SendQueueDepth, StoreError>;
}
