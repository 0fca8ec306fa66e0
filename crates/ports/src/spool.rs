//! The local spool: webhooks accepted while the database could not take them.
//!
//! Twilio does not retry a failed SMS or WhatsApp webhook, so a customer message that arrives
//! during a database outage is lost unless something else keeps it. A webhook whose signature
//! verified and whose fields are valid is pushed here, durably, and acknowledged; a drainer
//! replays the spool into the database, oldest first, once it answers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::MessageId;
use serde::{Deserialize, Serialize};

/// Which of Twilio's webhooks an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpooledKind {
    /// An inbound message (`POST /webhooks/twilio/inbound`).
    Inbound,
    /// A delivery-status callback (`POST /webhooks/twilio/status`).
    Status,
}

/// A verified, valid webhook kept until the database takes it: the form fields exactly as
/// Twilio posted them, so the replay runs the same parsing as a live request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpooledWebhook {
    /// Which webhook.
    pub kind: SpooledKind,
    /// The Twilio account that signed it (`AccountSid`).
    pub account_sid: String,
    /// The form fields, in the order received (repeated names kept).
    pub fields: Vec<(String, String)>,
    /// When the service received it: the replay stores it as of this time.
    pub received_at: DateTime<Utc>,
    /// For a status callback, our message id from its signed URL (`?message_id=`), which the
    /// form fields do not carry. Absent in entries spooled before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
}

/// An entry's place in the spool: entries are replayed in increasing order, which is the
/// order they were pushed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SpoolSeq(pub u64);

/// How full the spool is, for monitoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpoolStats {
    /// Entries waiting to be replayed.
    pub depth: u64,
    /// Bytes those entries take (as the bound counts them).
    pub bytes: u64,
    /// When the oldest waiting entry was received.
    pub oldest_received_at: Option<DateTime<Utc>>,
    /// Entries set aside because they can never be replayed (see [`WebhookSpool::bury`]).
    pub buried: u64,
}

/// What the spool reports when it cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpoolError {
    /// The entry would take the spool past its configured size.
    #[error("the webhook spool is full")]
    Full,
    /// The embedded store failed (disk full, I/O error, corrupt file).
    #[error("webhook spool storage failed: {0}")]
    Storage(String),
}

/// A durable, bounded, ordered spool of webhooks.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookSpool: Send + Sync + std::fmt::Debug {
    /// Appends an entry. When this returns `Ok`, the entry is committed and synced to disk: it
    /// survives a crash of the process or the machine.
    ///
    /// # Errors
    /// MUST return [`SpoolError::Full`] when the entry would take the spool past its bound
    /// (nothing is written then); [`SpoolError::Storage`].
    async fn push(&self, webhook: SpooledWebhook) -> Result<SpoolSeq, SpoolError>;

    /// Up to `limit` waiting entries, oldest first.
    ///
    /// # Errors
    /// [`SpoolError::Storage`].
    async fn oldest(&self, limit: usize) -> Result<Vec<(SpoolSeq, SpooledWebhook)>, SpoolError>;

    /// Removes replayed entries, all in one commit (a drain replays a batch, then removes it:
    /// one sync, not one per entry). Removing one that is not there is not an error.
    ///
    /// # Errors
    /// [`SpoolError::Storage`].
    async fn remove(&self, seqs: Vec<SpoolSeq>) -> Result<(), SpoolError>;

    /// Moves an entry that can never be replayed (its account is gone, its fields no longer
    /// validate) out of the queue into a dead-letter table, with the reason, for an operator.
    ///
    /// # Errors
    /// [`SpoolError::Storage`].
    async fn bury(&self, seq: SpoolSeq, reason: String) -> Result<(), SpoolError>;

    /// How full the spool is.
    ///
    /// # Errors
    /// [`SpoolError::Storage`].
    async fn stats(&self) -> Result<SpoolStats, SpoolError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_spooled_before_message_ids_still_decode() {
        let old = r#"{"kind":"status","account_sid":"AC1","fields":[["MessageSid","SM1"]],"received_at":"2026-03-01T14:00:00Z"}"#;
        let entry: SpooledWebhook = serde_json::from_str(old).unwrap();
        assert_eq!(entry.message_id, None);
        assert!(!serde_json::to_string(&entry).unwrap().contains("message_id"), "written as before");
    }
}
