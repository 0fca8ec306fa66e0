//! Closure detection's records and timing, shared by the inbound webhook (which proposes or
//! makes a closure) and the lifecycle sweeper (which confirms or drops a pending one).

use chrono::Duration;
use domain::closure::{ClosureAssessment, ClosureConfig};
use domain::{CLOSURE_DETECTION_KIND, NewAiResult};
use ports::StoreError;

/// The `model` recorded with a closure assessment.
pub const CLOSURE_MODEL: &str = "conversa-closure-v1";

/// How long a conversation that looks ended waits for the customer before it closes: the
/// tenant's grace period, and never less than its floor of silence (`min_quiet_seconds`, under
/// which the detector never closes).
pub(crate) fn closure_wait(config: &ClosureConfig) -> Duration {
    let seconds = config.grace_seconds.max(config.min_quiet_seconds);
    Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX).min(i64::from(u32::MAX)))
}

/// Closure detection's assessment as the AI result recorded with a close.
pub(crate) fn closure_record(assessment: &ClosureAssessment) -> Result<NewAiResult, StoreError> {
    Ok(NewAiResult {
        kind: CLOSURE_DETECTION_KIND.to_owned(),
        model: Some(CLOSURE_MODEL.to_owned()),
        content: serde_json::to_value(assessment).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        score: Some(assessment.score),
    })
}
