//! Domain events: the state changes other parts of the system may want to hear about
//! (a future outbound-webhook publisher, a real-time stream). Lifecycle methods return them;
//! nothing here decides how they travel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConversationId, ConversationStatus, DeliveryStatus, MessageDirection, MessageId, OwnerId};

/// Something that happened to a tenant's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A conversation was opened.
    ConversationOpened {
        /// Tenant.
        owner_id: OwnerId,
        /// Conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A conversation moved from `pending` to `progress`.
    ConversationProgressed {
        /// Tenant.
        owner_id: OwnerId,
        /// Conversation.
        conversation_id: ConversationId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A conversation's expiry moved forward.
    ConversationExtended {
        /// Tenant.
        owner_id: OwnerId,
        /// Conversation.
        conversation_id: ConversationId,
        /// The new expiry.
        expires_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A conversation reached a final state.
    ConversationClosed {
        /// Tenant.
        owner_id: OwnerId,
        /// Conversation.
        conversation_id: ConversationId,
        /// The final state.
        status: ConversationStatus,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A message was stored (received, or queued for sending).
    MessageStored {
        /// Tenant.
        owner_id: OwnerId,
        /// Conversation.
        conversation_id: ConversationId,
        /// Message.
        message_id: MessageId,
        /// Inbound or outbound.
        direction: MessageDirection,
        /// When.
        at: DateTime<Utc>,
    },
    /// A message's delivery status moved forward.
    DeliveryStatusChanged {
        /// Tenant.
        owner_id: OwnerId,
        /// Message.
        message_id: MessageId,
        /// The new status.
        status: DeliveryStatus,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent {
    /// The tenant the event belongs to (a publisher routes on it).
    #[must_use]
    pub const fn owner_id(&self) -> OwnerId {
        match self {
            Self::ConversationOpened { owner_id, .. }
            | Self::ConversationProgressed { owner_id, .. }
            | Self::ConversationExtended { owner_id, .. }
            | Self::ConversationClosed { owner_id, .. }
            | Self::MessageStored { owner_id, .. }
            | Self::DeliveryStatusChanged { owner_id, .. } => *owner_id,
        }
    }
}
