use chrono::{DateTime, Utc};
use domain::{ConversationStatus, QuotaPeriod};

/// What a storage port reports when it cannot do what was asked.
///
/// Each variant says what the caller can do about it: [`Unavailable`](Self::Unavailable) may
/// succeed later, [`Conflict`](Self::Conflict) and [`Invalid`](Self::Invalid) never will as
/// asked, [`Corrupt`](Self::Corrupt) and [`Internal`](Self::Internal) are the service's fault.
/// None of them carries the store's own names (tables, constraints, indexes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant (an unknown id and another tenant's id look the same).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write: which one.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// The conversation is in a final state and refuses the change.
    #[error("conversation is closed ({0})")]
    ConversationClosed(ConversationStatus),
    /// A per-tenant limit refused the write (the tenant already has `limit` of `what`).
    #[error("the tenant already has {limit} {what}, the most it may have")]
    LimitReached {
        /// What is counted (`features`).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Queueing the message would pass the tenant's send quota of `period`: nothing was
    /// written.
    #[error("the send quota of {limit} messages per {period} is used up until {resets_at}")]
    QuotaExceeded {
        /// The period whose quota is used up (the day's when both are).
        period: QuotaPeriod,
        /// The quota.
        limit: u32,
        /// When the period ends and its count starts again.
        resets_at: DateTime<Utc>,
    },
    /// A closure based on a customer message that is no longer the conversation's latest (or a
    /// pending closure that was dropped meanwhile): nothing was written.
    #[error("the closure is based on a message that is no longer the customer's latest")]
    ClosureSuperseded,
    /// The change breaks a lifecycle rule other than being closed (e.g. an extension beyond the
    /// maximum lifetime).
    #[error("{0}")]
    Rejected(String),
    /// The store refused a value it cannot keep (too long, out of range, not representable,
    /// missing): retrying the same value will not help.
    #[error("{}", refused(*field, reason))]
    Invalid {
        /// The input field at fault, as the port's caller names it, when the store can tell.
        field: Option<&'static str>,
        /// What is wrong with the value, in words that name nothing inside the store.
        reason: &'static str,
    },
    /// The store could not be reached, timed out, or gave up on a transaction to let another
    /// one through; retrying later may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be read back into a domain value (a bug or a manual edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The store failed in a way none of the above explains (a bug, a schema out of step with
    /// the code, a refused permission). The text is for the log, never for a client.
    #[error("storage failed: {0}")]
    Internal(String),
}

/// Which uniqueness rule a write broke, named by what is taken, not by how the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// The email address is already in use: a tenant's contact address (unique across tenants)
    /// or a user's login (unique within the tenant).
    EmailTaken,
    /// The Twilio Account SID is already registered (unique across tenants: webhooks find their
    /// tenant by it).
    AccountSidTaken,
    /// A business number is already one of the tenant's other Twilio accounts' (unique within
    /// the tenant: sends from a number and webhooks to it name one account).
    NumberTaken,
    /// Another message of the tenant already has this provider id (Twilio MessageSid).
    MessageSidTaken,
    /// Any other uniqueness rule: ones the service's own ids and hashes keep (primary keys,
    /// API key hashes, one send job per message) or that its writes avoid by construction (one
    /// active conversation per number pair, one feature per name: both written as upserts).
    Other,
}

impl ConflictKind {
    /// A stable, machine-readable code (the `code` of an HTTP problem).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::EmailTaken => "email_taken",
            Self::AccountSidTaken => "account_sid_taken",
            Self::NumberTaken => "number_taken",
            Self::MessageSidTaken => "message_sid_taken",
            Self::Other => "conflict",
        }
    }
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::EmailTaken => "this email address is already in use",
            Self::AccountSidTaken => "this Twilio account is already registered",
            Self::NumberTaken => "a number of the account belongs to another of the tenant's Twilio accounts",
            Self::MessageSidTaken => "a message with this provider id is already stored",
            Self::Other => "the change conflicts with existing data",
        })
    }
}

/// A refused value in words: "`name` must have …", or "a value is too long" when the field is
/// not known.
fn refused(field: Option<&str>, reason: &str) -> String {
    field.map_or_else(|| format!("a value {reason}"), |field| format!("`{field}` {reason}"))
}

impl From<domain::LifecycleError> for StoreError {
    fn from(error: domain::LifecycleError) -> Self {
        match error {
            domain::LifecycleError::Closed(status) => Self::ConversationClosed(status),
            domain::LifecycleError::ClosureSuperseded => Self::ClosureSuperseded,
            other => Self::Rejected(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_invalid_values_read_without_store_names() {
        assert_eq!(
            StoreError::Conflict(ConflictKind::EmailTaken).to_string(),
            "conflict: this email address is already in use"
        );
        let named = StoreError::Invalid { field: Some("name"), reason: "is too long" };
        assert_eq!(named.to_string(), "`name` is too long");
        let unnamed =
            StoreError::Invalid { field: None, reason: "contains characters that cannot be stored" };
        assert_eq!(unnamed.to_string(), "a value contains characters that cannot be stored");
        let codes = [
            ConflictKind::EmailTaken,
            ConflictKind::AccountSidTaken,
            ConflictKind::MessageSidTaken,
            ConflictKind::Other,
        ]
        .map(ConflictKind::code);
        assert_eq!(codes, ["email_taken", "account_sid_taken", "message_sid_taken", "conflict"]);
    }
}
