use domain::ConversationStatus;

/// What a storage port reports when it cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant (an unknown id and another tenant's id look the same).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write (a duplicate email, feature name, account SID…).
    #[error("conflict: {0}")]
    Conflict(String),
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
    /// A closure based on a customer message that is no longer the conversation's latest (or a
    /// pending closure that was dropped meanwhile): nothing was written.
    #[error("the closure is based on a message that is no longer the customer's latest")]
    ClosureSuperseded,
    /// The change breaks a lifecycle rule other than being closed (e.g. an extension beyond the
    /// maximum lifetime).
    #[error("{0}")]
    Rejected(String),
    /// The store could not be reached or timed out; retrying later may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be read back into a domain value (a bug or a manual edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
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
