//! Domain events: the state changes other parts of the system may want to hear about
//! (a future outbound-webhook publisher, a real-time stream). Lifecycle methods return them;
//! nothing here decides how they travel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ConversationId, ConversationStatus, DeliveryStatus, EventId, MessageDirection, MessageId, OwnerId,
};

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

/// The types of the events tenants receive (webhooks, the event stream), by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A conversation was opened.
    ConversationCreated,
    /// Closure detection proposed to close a conversation, waiting for the customer to finish.
    ConversationClosurePending,
    /// A conversation reached a final state (`data.status`, `data.close_reason`).
    ConversationClosed,
    /// A conversation's expiry moved forward.
    ConversationExtended,
    /// A message was stored, inbound or outbound.
    MessageCreated,
    /// A message's delivery status (or error code) changed.
    MessageStatusUpdated,
}

impl EventType {
    /// Every type, in the order the docs list them.
    pub const ALL: [Self; 6] = [
        Self::ConversationCreated,
        Self::ConversationClosurePending,
        Self::ConversationClosed,
        Self::ConversationExtended,
        Self::MessageCreated,
        Self::MessageStatusUpdated,
    ];

    /// The wire name (`conversation.created`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConversationCreated => "conversation.created",
            Self::ConversationClosurePending => "conversation.closure_pending",
            Self::ConversationClosed => "conversation.closed",
            Self::ConversationExtended => "conversation.extended",
            Self::MessageCreated => "message.created",
            Self::MessageStatusUpdated => "message.status_updated",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no event type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`")]
pub struct UnknownEventType(pub String);

impl std::str::FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// An event as tenants receive it: its id (the same on every delivery), type, time, the
/// conversation it concerns and `data`, the resource as the REST API returns it after the change.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedEvent {
    /// Event id (UUID v7).
    pub id: EventId,
    /// Tenant.
    pub owner_id: OwnerId,
    /// Type.
    pub event_type: EventType,
    /// The conversation concerned.
    pub conversation_id: ConversationId,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// The resource after the change.
    pub data: serde_json::Value,
}

impl PublishedEvent {
    /// What a delivery of the event carries (a webhook's body, an SSE message's data): the
    /// envelope `{"type", "timestamp", "data"}` on one line of JSON.
    #[must_use]
    pub fn envelope(&self) -> String {
        serde_json::json!({
            "type": self.event_type.as_str(),
            "timestamp": self.occurred_at,
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::EventType;

    #[test]
    fn event_types_parse_from_their_wire_names_and_nothing_else() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("conversation.opened".parse::<EventType>().is_err());
        assert!("Message.Created".parse::<EventType>().is_err());
    }
}
