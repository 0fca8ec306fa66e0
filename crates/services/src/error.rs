//! The one error type of the use cases, and how storage errors map onto it.

use domain::{ConversationStatus, UserRole};
use ports::{ConflictKind, StoreError};

/// Why a use case refused or failed.
///
/// Each variant maps to one HTTP status, decided once in the HTTP layer:
///
/// | variant | status |
/// | --- | --- |
/// | [`Forbidden`](Self::Forbidden), [`InvalidSignature`](Self::InvalidSignature) | 403 |
/// | [`Invalid`](Self::Invalid), [`InvalidValue`](Self::InvalidValue), [`Rejected`](Self::Rejected) | 422 |
/// | [`NotFound`](Self::NotFound) | 404 |
/// | [`Conflict`](Self::Conflict), [`ConversationClosed`](Self::ConversationClosed), [`AccountInUse`](Self::AccountInUse) | 409 |
/// | [`Unavailable`](Self::Unavailable) | 503 |
/// | [`Internal`](Self::Internal) | 500 |
///
/// Authentication is not an error: [`crate::TenantService::authenticate`] answers `None` for a
/// key that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The principal's role does not allow the action.
    #[error("this action requires the `{required}` role")]
    Forbidden {
        /// The least role that would have been allowed.
        required: UserRole,
    },
    /// A webhook's signature did not verify, or its account is unknown (the two look the same
    /// to the sender); the text says which check failed, for the sender.
    #[error("{0}")]
    InvalidSignature(&'static str),
    /// The input was refused; `field` names the part at fault (as the client spelled it).
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The input field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value the use case let through that the store refused (too long, out of range, not
    /// storable); `field` names it when the store could tell.
    #[error("{}", StoreError::Invalid { field: *field, reason })]
    InvalidValue {
        /// The input field at fault, when known.
        field: Option<&'static str>,
        /// What is wrong with it (never a name from inside the store).
        reason: &'static str,
    },
    /// No such resource in the principal's tenant.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the change: which one.
    #[error("{0}")]
    Conflict(ConflictKind),
    /// The conversation is in a final state.
    #[error("conversation is closed ({0})")]
    ConversationClosed(ConversationStatus),
    /// A Twilio account cannot be deleted while conversations on its numbers are active.
    #[error(
        "the Twilio account has {active_conversations} active conversation(s) on its numbers: close them first, or pass force=true to deactivate the account instead"
    )]
    AccountInUse {
        /// Active conversations on the account's numbers.
        active_conversations: u64,
    },
    /// A business rule refused a well-formed request (lifetime exhausted, WhatsApp's 24-hour
    /// window closed…).
    #[error("{0}")]
    Rejected(String),
    /// The tenant's send quota of `period` is used up until `resets_at`.
    #[error("the send quota of {limit} messages per {period} is used up; it resets at {resets_at}")]
    SendQuotaExceeded {
        /// The period.
        period: domain::QuotaPeriod,
        /// The quota.
        limit: u32,
        /// When the period's count starts again.
        resets_at: chrono::DateTime<chrono::Utc>,
    },
    /// A dependency could not be reached; retrying later may help.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be used, or the store failed unexpectedly (a bug, a manual edit,
    /// a schema out of step). Log it, answer blandly.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// An [`Invalid`](Self::Invalid) error for `field`.
    pub fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid { field, reason: reason.to_string() }
    }

    /// A stable, machine-readable code for the error (the `code` of a problem+json answer).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Forbidden { .. } => "forbidden",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::Invalid { .. } | Self::InvalidValue { .. } => "invalid_input",
            Self::NotFound => "not_found",
            Self::Conflict(kind) => kind.code(),
            Self::ConversationClosed(_) => "conversation_closed",
            Self::AccountInUse { .. } => "account_in_use",
            Self::Rejected(_) => "rejected",
            Self::SendQuotaExceeded { .. } => "send_quota_exceeded",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(kind) => Self::Conflict(kind),
            StoreError::Invalid { field, reason } => Self::InvalidValue { field, reason },
            StoreError::ConversationClosed(status) => Self::ConversationClosed(status),
            StoreError::Rejected(why) => Self::Rejected(why),
            StoreError::QuotaExceeded { period, limit, resets_at } => {
                Self::SendQuotaExceeded { period, limit, resets_at }
            }
            limit @ StoreError::LimitReached { .. } => Self::invalid("name", limit),
            StoreError::ClosureSuperseded => Self::Rejected(StoreError::ClosureSuperseded.to_string()),
            StoreError::Unavailable(why) => Self::Unavailable(why),
            StoreError::Corrupt(why) | StoreError::Internal(why) => Self::Internal(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_one_to_one() {
        let cases = [
            (StoreError::NotFound, ServiceError::NotFound),
            (
                StoreError::Conflict(ConflictKind::EmailTaken),
                ServiceError::Conflict(ConflictKind::EmailTaken),
            ),
            (
                StoreError::Invalid { field: Some("name"), reason: "is too long" },
                ServiceError::InvalidValue { field: Some("name"), reason: "is too long" },
            ),
            (
                StoreError::ConversationClosed(ConversationStatus::Expired),
                ServiceError::ConversationClosed(ConversationStatus::Expired),
            ),
            (StoreError::Rejected("too long".into()), ServiceError::Rejected("too long".into())),
            (StoreError::Unavailable("down".into()), ServiceError::Unavailable("down".into())),
            (StoreError::Corrupt("bad row".into()), ServiceError::Internal("bad row".into())),
            (StoreError::Internal("denied".into()), ServiceError::Internal("denied".into())),
        ];
        for (store, service) in cases {
            assert_eq!(ServiceError::from(store), service);
        }
    }

    #[test]
    fn codes_are_stable_and_messages_name_the_field() {
        let invalid = ServiceError::invalid("body", "message body is empty");
        assert_eq!(invalid.code(), "invalid_input");
        assert_eq!(invalid.to_string(), "invalid `body`: message body is empty");
        let forbidden = ServiceError::Forbidden { required: UserRole::Admin };
        assert_eq!(
            (forbidden.code(), forbidden.to_string().as_str()),
            ("forbidden", "this action requires the `admin` role")
        );
        let codes = [
            ServiceError::NotFound.code(),
            ServiceError::Conflict(ConflictKind::EmailTaken).code(),
            ServiceError::Conflict(ConflictKind::AccountSidTaken).code(),
            ServiceError::Conflict(ConflictKind::Other).code(),
            ServiceError::InvalidValue { field: None, reason: "is too long" }.code(),
            ServiceError::ConversationClosed(ConversationStatus::Failed).code(),
            ServiceError::Rejected(String::new()).code(),
            ServiceError::Unavailable(String::new()).code(),
            ServiceError::Internal(String::new()).code(),
        ];
        assert_eq!(
            codes,
            [
                "not_found",
                "email_taken",
                "account_sid_taken",
                "conflict",
                "invalid_input",
                "conversation_closed",
                "rejected",
                "unavailable",
                "internal"
            ]
        );
    }
}
