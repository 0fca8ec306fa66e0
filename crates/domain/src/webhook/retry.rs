//! When a failed delivery is tried again, and when it is given up.

use chrono::{DateTime, Duration, Utc};

use crate::{RetryDecision, RetryPolicy};

/// Exponential backoff with full jitter, for as long as `window_ms` after the delivery was
/// created: the delay after attempt `n` is a random part of `min(max_delay, base × 2^(n-1))`.
/// Giving up is decided by time, not by a count of attempts, so the schedule spans the whole
/// window however the jitter falls: the attempt that fails after the window has passed is the
/// last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookRetryPolicy {
    /// The ceiling of the first retry's delay, in milliseconds.
    pub base_delay_ms: u64,
    /// The largest ceiling of any delay, in milliseconds.
    pub max_delay_ms: u64,
    /// How long after its creation a delivery is still retried, in milliseconds.
    pub window_ms: u64,
}

impl Default for WebhookRetryPolicy {
    /// 5 s doubling to at most 2 h between attempts, for 24 h.
    fn default() -> Self {
        Self { base_delay_ms: 5_000, max_delay_ms: 2 * 3_600_000, window_ms: 24 * 3_600_000 }
    }
}

impl WebhookRetryPolicy {
    /// Decides after attempt `attempt` (1 for the first) of a delivery created at `created_at`
    /// failed at `now`; `jitter` is a random number in `0..1` from the caller.
    #[must_use]
    pub fn after_failure(
        &self,
        attempt: u32,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> RetryDecision {
        let window = Duration::milliseconds(i64::try_from(self.window_ms).unwrap_or(i64::MAX));
        if now >= created_at + window {
            return RetryDecision::GiveUp;
        }
        let backoff = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay_ms: self.base_delay_ms,
            max_delay_ms: self.max_delay_ms,
        };
        backoff.after_failure(attempt, now, jitter)
    }

    /// The ceiling of the delay after attempt `attempt`, in milliseconds (the docs' table).
    #[must_use]
    pub fn ceiling_ms(&self, attempt: u32) -> u64 {
        let exponent = attempt.saturating_sub(1).min(32);
        self.base_delay_ms.saturating_mul(1_u64 << exponent).min(self.max_delay_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_within_the_window_and_gives_up_after_it() {
        let policy = WebhookRetryPolicy { base_delay_ms: 1_000, max_delay_ms: 4_000, window_ms: 60_000 };
        let created = DateTime::UNIX_EPOCH;
        let now = created + Duration::seconds(10);
        assert_eq!(
            policy.after_failure(1, created, now, 1.0),
            RetryDecision::RetryAt(now + Duration::seconds(1))
        );
        assert_eq!(
            policy.after_failure(9, created, now, 1.0),
            RetryDecision::RetryAt(now + Duration::seconds(4))
        );
        assert_eq!(
            policy.after_failure(2, created, created + Duration::seconds(60), 0.5),
            RetryDecision::GiveUp
        );
        assert_eq!([1, 2, 3, 4].map(|n| policy.ceiling_ms(n)), [1_000, 2_000, 4_000, 4_000]);
    }

    #[test]
    fn the_default_schedule_spans_a_day() {
        let policy = WebhookRetryPolicy::default();
        assert_eq!(policy.window_ms, 86_400_000);
        let created = DateTime::UNIX_EPOCH;
        let late = created + Duration::hours(23);
        assert!(matches!(policy.after_failure(30, created, late, 0.0), RetryDecision::RetryAt(_)));
    }
}
