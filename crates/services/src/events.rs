//! The tenant's event stream: where a reader starts (now, or after the event it saw last) and
//! what comes next. The events themselves are written by the store with each change.

use std::sync::Arc;

use chrono::Duration;
use domain::{ConversationId, EventId, EventType, Principal, UserRole};
use ports::{Clock, EventFilter, EventLog, EventPosition, StoredEvent};

use crate::{ServiceError, authz::require};

/// What a stream reader asked for, as the client wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamRequest {
    /// Comma-separated event types (empty: all).
    pub types: Option<String>,
    /// Only this conversation's events.
    pub conversation_id: Option<String>,
    /// The id of the last event the reader received (SSE's `Last-Event-ID`).
    pub last_event_id: Option<String>,
}

/// A stream, opened: its filter and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedStream {
    /// What the reader receives.
    pub filter: EventFilter,
    /// Events after this position are the reader's (`None`: from the first kept).
    pub after: Option<EventPosition>,
}

/// Event use cases of a tenant.
#[derive(Clone)]
pub struct EventService {
    /// The outbox.
    pub log: Arc<dyn EventLog>,
}

impl std::fmt::Debug for EventService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventService").finish_non_exhaustive()
    }
}

impl EventService {
    /// Opens a stream of the principal's tenant (any role): parses the filter, and starts
    /// after `last_event_id` when given (so a reconnecting reader gets exactly what it missed),
    /// else at the newest event (a new reader gets what happens from now on).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `types`, `conversation_id` or `Last-Event-ID` (an id
    /// that is not kept: unknown, another tenant's, or pruned); [`ServiceError::Unavailable`].
    pub async fn open(
        &self,
        principal: &Principal,
        request: StreamRequest,
    ) -> Result<OpenedStream, ServiceError> {
        require(principal, UserRole::Viewer)?;
        let filter = EventFilter {
            types: parse_types(request.types.as_deref())?,
            conversation_id: request
                .conversation_id
                .map(|raw| {
                    raw.parse::<ConversationId>().map_err(|e| ServiceError::invalid("conversation_id", e))
                })
                .transpose()?,
        };
        let owner_id = principal.owner_id;
        let after = match request.last_event_id {
            Some(raw) => {
                let id =
                    raw.trim().parse::<EventId>().map_err(|e| ServiceError::invalid("Last-Event-ID", e))?;
                let position = self.log.event_position(owner_id, id).await?.ok_or_else(|| {
                    ServiceError::invalid(
                        "Last-Event-ID",
                        "no such event is kept (unknown, or older than the retention): reconnect without it",
                    )
                })?;
                Some(position)
            }
            None => self.log.latest_position(owner_id).await?,
        };
        Ok(OpenedStream { filter, after })
    }

    /// Up to `limit` of the stream's next events, and the position it reached (which moves
    /// past events the filter leaves out).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`].
    pub async fn next(
        &self,
        principal: &Principal,
        stream: &OpenedStream,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<EventPosition>), ServiceError> {
        Ok(self.log.events_after(principal.owner_id, stream.after, &stream.filter, limit).await?)
    }
}

/// Prunes events older than the retention period, for every tenant (a background worker).
#[derive(Clone)]
pub struct EventRetention {
    /// The outbox.
    pub log: Arc<dyn EventLog>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// How long events are kept.
    pub keep: Duration,
    /// Events deleted per round.
    pub batch_size: usize,
}

impl std::fmt::Debug for EventRetention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRetention").field("keep", &self.keep).finish_non_exhaustive()
    }
}

impl EventRetention {
    /// Deletes up to a batch of events older than the retention period; how many. A full
    /// batch means more may be due.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`].
    pub async fn run_once(&self) -> Result<u64, ServiceError> {
        let pruned = self.log.prune_events(self.clock.now() - self.keep, self.batch_size).await?;
        if pruned > 0 {
            tracing::info!(pruned, "events past their retention pruned");
        }
        Ok(pruned)
    }
}

fn parse_types(raw: Option<&str>) -> Result<Vec<EventType>, ServiceError> {
    let Some(raw) = raw.filter(|raw| !raw.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let mut types = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let event_type = name.parse::<EventType>().map_err(|e| ServiceError::invalid("types", e))?;
        if !types.contains(&event_type) {
            types.push(event_type);
        }
    }
    Ok(types)
}
