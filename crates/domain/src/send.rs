//! The outbound send queue's rules: what a job is and when a failed attempt is retried.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ConversationId, MessageId, OwnerId, SendJobId};

/// The token of one claim of a send job. Every claim draws a new one, and an outcome
/// (sent, retry, failed) is recorded only while the job still carries the token of the claim
/// that produced it: a worker whose lease lapsed cannot overwrite what the next holder does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SendLease(Uuid);

impl SendLease {
    /// The token as a UUID (how it is stored).
    #[must_use]
    pub const fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for SendLease {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<SendLease> for Uuid {
    fn from(lease: SendLease) -> Self {
        lease.0
    }
}

/// A claimed job of the outbound send queue: one message to hand to the messaging gateway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendJob {
    /// The job's id.
    pub id: SendJobId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// The conversation of the message.
    pub conversation_id: ConversationId,
    /// The message to send.
    pub message_id: MessageId,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the job was enqueued.
    pub created_at: DateTime<Utc>,
    /// The claim this job was handed out under.
    pub lease: SendLease,
}

/// How failed sends are retried: exponential backoff with full jitter, capped, for a bounded
/// number of attempts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last the message is `failed`.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds.
    pub base_delay_ms: u64,
    /// Upper bound of any delay, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 6, base_delay_ms: 2_000, max_delay_ms: 300_000 }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Give up: the message is failed.
    GiveUp,
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 for the first) failed at `now`. `jitter` is a
    /// random number in `0..1` supplied by the caller (the domain reads no randomness): the
    /// delay is `jitter × min(max_delay, base × 2^(attempt-1))` ("full jitter"), at least 1 ms,
    /// so many jobs failing together do not retry together.
    #[must_use]
    pub fn after_failure(&self, attempt: u32, now: DateTime<Utc>, jitter: f64) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let exponent = attempt.saturating_sub(1).min(32);
        let ceiling = self.base_delay_ms.saturating_mul(1_u64 << exponent).min(self.max_delay_ms);
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 1.0 };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let delay_ms = ((ceiling as f64) * jitter).round() as i64;
        RetryDecision::RetryAt(now + Duration::milliseconds(delay_ms.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 4, base_delay_ms: 1000, max_delay_ms: 5000 }
    }

    #[test]
    fn backs_off_exponentially_up_to_the_cap() {
        let now = DateTime::UNIX_EPOCH;
        let delays: Vec<_> = (1..=3)
            .map(|attempt| match policy().after_failure(attempt, now, 1.0) {
                RetryDecision::RetryAt(at) => (at - now).num_milliseconds(),
                RetryDecision::GiveUp => -1,
            })
            .collect();
        assert_eq!(delays, [1000, 2000, 4000]);
        let capped = RetryPolicy { max_attempts: 10, ..policy() }.after_failure(8, now, 1.0);
        assert_eq!(capped, RetryDecision::RetryAt(now + Duration::milliseconds(5000)));
    }

    #[test]
    fn jitter_spreads_the_delay_and_is_sanitised() {
        let now = DateTime::UNIX_EPOCH;
        assert_eq!(
            policy().after_failure(2, now, 0.5),
            RetryDecision::RetryAt(now + Duration::milliseconds(1000))
        );
        assert_eq!(
            policy().after_failure(2, now, 0.0),
            RetryDecision::RetryAt(now + Duration::milliseconds(1))
        );
        assert_eq!(
            policy().after_failure(2, now, f64::NAN),
            RetryDecision::RetryAt(now + Duration::milliseconds(2000))
        );
    }

    #[test]
    fn gives_up_after_the_last_attempt() {
        assert_eq!(policy().after_failure(4, DateTime::UNIX_EPOCH, 0.5), RetryDecision::GiveUp);
        assert_eq!(policy().after_failure(40, DateTime::UNIX_EPOCH, 0.5), RetryDecision::GiveUp);
    }
}
