//! The closed vocabularies of the product. Each enum is `snake_case` on the wire and in the
//! database, and parses back from the same text (`FromStr`), refusing anything else.

use serde::{Deserialize, Serialize};

/// The text of an enum value was not one of its variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct UnknownVariant {
    /// Which vocabulary was being parsed (for example `conversation status`).
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: String,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire and database spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::enums::UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::enums::UnknownVariant {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// Where a conversation is in its lifecycle: `pending` → `progress` → one terminal state.
    ConversationStatus, "conversation status" {
        /// Created, no message exchanged yet.
        Pending => "pending",
        /// At least one message exchanged; still open.
        Progress => "progress",
        /// Closed by an agent of the tenant.
        AgentClosed => "agent_closed",
        /// Closed by the tenant's support staff (or automatically, on their behalf).
        SupportClosed => "support_closed",
        /// Closed by the customer, or detected as ended by closure detection.
        UserClosed => "user_closed",
        /// Its `expires_at` passed.
        Expired => "expired",
        /// No message within the tenant's idle timeout.
        IdleTimeout => "idle_timeout",
        /// Ended by an unrecoverable error.
        Failed => "failed",
    }
);

impl ConversationStatus {
    /// The states in which a conversation accepts messages, can be extended and closed.
    pub const ACTIVE: &'static [Self] = &[Self::Pending, Self::Progress];

    /// Whether the conversation is still open.
    #[must_use]
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Progress)
    }

    /// Whether this is a final state.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        !self.is_active()
    }
}

wire_enum!(
    /// Who authored a message.
    MessageOwner, "message owner" {
        /// The customer.
        User => "user",
        /// A human agent of the tenant.
        Agent => "agent",
        /// The service itself (auto-replies, notices).
        System => "system",
        /// A tool or automation acting for the tenant.
        Tool => "tool",
        /// The tenant's support staff.
        Support => "support",
    }
);

impl MessageOwner {
    /// Whether the author speaks for the business (anyone but the customer).
    #[must_use]
    pub const fn is_business(self) -> bool {
        !matches!(self, Self::User)
    }
}

wire_enum!(
    /// What a message carries.
    MessageType, "message type" {
        /// Plain text.
        Text => "text",
        /// An image attachment.
        Image => "image",
        /// An audio attachment (including voice notes).
        Audio => "audio",
        /// A video attachment.
        Video => "video",
        /// Any other file.
        Document => "document",
    }
);

impl MessageType {
    /// The type of a message from the MIME type of its first attachment.
    #[must_use]
    pub fn from_content_type(content_type: &str) -> Self {
        let top = content_type.split('/').next().unwrap_or_default().trim();
        match top.to_ascii_lowercase().as_str() {
            "image" => Self::Image,
            "audio" => Self::Audio,
            "video" => Self::Video,
            _ => Self::Document,
        }
    }
}

wire_enum!(
    /// Whether a message came from the customer or goes to them.
    MessageDirection, "message direction" {
        /// From the customer to the business.
        Inbound => "inbound",
        /// From the business to the customer.
        Outbound => "outbound",
    }
);

wire_enum!(
    /// What a user of a tenant may do. Ordered: `viewer` < `agent` < `admin`.
    UserRole, "user role" {
        /// Reads conversations and messages.
        Viewer => "viewer",
        /// Also sends messages, closes and extends conversations.
        Agent => "agent",
        /// Also manages users, API keys, features and Twilio accounts.
        Admin => "admin",
    }
);

impl UserRole {
    const fn rank(self) -> u8 {
        match self {
            Self::Viewer => 0,
            Self::Agent => 1,
            Self::Admin => 2,
        }
    }

    /// Whether this role grants at least what `required` grants.
    #[must_use]
    pub const fn allows(self, required: Self) -> bool {
        self.rank() >= required.rank()
    }
}

wire_enum!(
    /// The messaging channel a conversation runs on.
    Channel, "channel" {
        /// Plain SMS/MMS.
        Sms => "sms",
        /// WhatsApp Business.
        Whatsapp => "whatsapp",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_variant_through_text_and_json() {
        for status in ConversationStatus::ALL {
            assert_eq!(status.as_str().parse::<ConversationStatus>(), Ok(*status));
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for owner in MessageOwner::ALL {
            assert_eq!(owner.as_str().parse::<MessageOwner>(), Ok(*owner));
        }
    }

    #[test]
    fn unknown_text_names_the_vocabulary_and_choices() {
        let err = "closed".parse::<ConversationStatus>().unwrap_err();
        assert_eq!(err.kind, "conversation status");
        assert!(err.to_string().contains("agent_closed"));
        assert!(serde_json::from_str::<MessageType>("\"sticker\"").is_err());
    }

    #[test]
    fn only_pending_and_progress_are_active() {
        let active: Vec<_> = ConversationStatus::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [&ConversationStatus::Pending, &ConversationStatus::Progress]);
    }

    #[test]
    fn roles_are_ordered() {
        assert!(UserRole::Admin.allows(UserRole::Agent));
        assert!(UserRole::Agent.allows(UserRole::Viewer));
        assert!(!UserRole::Viewer.allows(UserRole::Agent));
        assert!(!UserRole::Agent.allows(UserRole::Admin));
    }

    #[test]
    fn media_types_map_from_mime() {
        assert_eq!(MessageType::from_content_type("image/jpeg"), MessageType::Image);
        assert_eq!(MessageType::from_content_type("audio/ogg"), MessageType::Audio);
        assert_eq!(MessageType::from_content_type("video/mp4"), MessageType::Video);
        assert_eq!(MessageType::from_content_type("application/pdf"), MessageType::Document);
    }
}
