//! The outbox of tenant events: written by the store with every change (in its transaction),
//! read in order by the event stream and the webhook deliveries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{ConversationId, EventId, EventType, OwnerId, PublishedEvent};

use crate::StoreError;

/// Where an event stands in its tenant's order. Readers move forward from one; the store only
/// hands out events no earlier-started writer can still land behind, so reading on from a
/// position never skips an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventPosition {
    /// The writing transaction.
    pub txid: i64,
    /// The order within it.
    pub seq: i64,
}

/// An event with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// The event.
    pub event: PublishedEvent,
    /// Its position in the tenant's order.
    pub position: EventPosition,
}

/// What part of a tenant's events a reader wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only these types (empty: all).
    pub types: Vec<EventType>,
    /// Only events of this conversation.
    pub conversation_id: Option<ConversationId>,
}

impl EventFilter {
    /// Whether `event` passes.
    #[must_use]
    pub fn admits(&self, event: &PublishedEvent) -> bool {
        (self.types.is_empty() || self.types.contains(&event.event_type))
            && self.conversation_id.is_none_or(|id| id == event.conversation_id)
    }
}

/// The outbox, read side (the write side is the store's, with each change).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Up to `limit` of the tenant's events after `after` (from the oldest kept when `None`),
    /// in order, that pass `filter`, and the position the reader reached (past events the
    /// filter left out, so the next read does not scan them again).
    async fn events_after(
        &self,
        owner_id: OwnerId,
        after: Option<EventPosition>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<EventPosition>), StoreError>;

    /// The position of the tenant's event `id` (`None`: unknown, pruned, or another tenant's).
    async fn event_position(
        &self,
        owner_id: OwnerId,
        id: EventId,
    ) -> Result<Option<EventPosition>, StoreError>;

    /// The position after every event of the tenant's that is readable now: a stream that
    /// starts without `Last-Event-ID` begins there.
    async fn latest_position(&self, owner_id: OwnerId) -> Result<Option<EventPosition>, StoreError>;

    /// Deletes up to `limit` events (of every tenant) that occurred before `before`; how many.
    async fn prune_events(&self, before: DateTime<Utc>, limit: usize) -> Result<u64, StoreError>;
}
