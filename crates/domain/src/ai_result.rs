//! Results of automated analysis (closure detection, classifiers, LLM calls) attached to a
//! message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AiResultId, ConversationId, MessageId, OwnerId};

/// An analysis result attached to a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AiResult {
    /// The result's id.
    pub id: AiResultId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// The conversation of the message.
    pub conversation_id: ConversationId,
    /// The message analysed.
    pub message_id: MessageId,
    /// What produced it, e.g. `closure_detection`, `sentiment`.
    pub kind: String,
    /// The model or detector version, when relevant.
    pub model: Option<String>,
    /// The result itself, JSON.
    pub content: serde_json::Value,
    /// A confidence or score in `0..=1`, when the result has one.
    pub score: Option<f64>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Input to attach a result to a message.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAiResult {
    /// What produced it (1–64 characters).
    pub kind: String,
    /// Model or version.
    pub model: Option<String>,
    /// The result.
    pub content: serde_json::Value,
    /// Score in `0..=1`.
    pub score: Option<f64>,
}

/// The `kind` of the result recorded when closure detection closes a conversation.
pub const CLOSURE_DETECTION_KIND: &str = "closure_detection";

/// Why an AI result input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiResultInputError {
    /// `kind` must be 1–64 characters.
    #[error("kind must have 1 to 64 characters")]
    InvalidKind,
    /// `score` must lie in `0..=1`.
    #[error("score must be between 0 and 1")]
    ScoreOutOfRange,
}

impl NewAiResult {
    /// Checks the kind and score.
    ///
    /// # Errors
    /// [`AiResultInputError`].
    pub fn validate(self) -> Result<Self, AiResultInputError> {
        if self.kind.trim().is_empty() || self.kind.chars().count() > 64 {
            return Err(AiResultInputError::InvalidKind);
        }
        if self.score.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
            return Err(AiResultInputError::ScoreOutOfRange);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, score: Option<f64>) -> NewAiResult {
        NewAiResult { kind: kind.into(), model: None, content: serde_json::json!({}), score }
    }

    #[test]
    fn validates_kind_and_score() {
        assert!(input("sentiment", Some(0.5)).validate().is_ok());
        assert_eq!(input(" ", None).validate(), Err(AiResultInputError::InvalidKind));
        assert_eq!(input("x", Some(1.5)).validate(), Err(AiResultInputError::ScoreOutOfRange));
        assert_eq!(input("x", Some(f64::NAN)).validate(), Err(AiResultInputError::ScoreOutOfRange));
    }
}
