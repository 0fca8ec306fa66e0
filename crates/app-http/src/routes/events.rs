//! `GET /api/v1/events`: the tenant's events as Server-Sent Events (ADR 0018).
//!
//! Each event is one SSE message whose `id` is the event id, `event` its type and `data` the
//! JSON a webhook delivery carries (`{"type", "timestamp", "data"}`). A reader that reconnects
//! with `Last-Event-ID` gets exactly the events after that one (within the retention); a
//! comment line every 15 s keeps idle connections (and proxies) open. The stream reads the
//! outbox, so an event written through any instance reaches readers on every instance.

use std::time::{Duration, Instant};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::{Principal, PublishedEvent};
use serde::Deserialize;
use services::{EventService, OpenedStream, StreamRequest};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::extract::QueryParams;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Events read per round trip to the outbox.
const BATCH: usize = 100;

/// How a stream waits for events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSettings {
    /// Pause between reads of the outbox while nothing new is there.
    pub poll_interval: Duration,
    /// A comment is sent after this long without an event.
    pub heartbeat: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self { poll_interval: Duration::from_millis(250), heartbeat: Duration::from_secs(15) }
    }
}

/// Which events the stream carries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated event types (`conversation.created`, `conversation.closure_pending`,
    /// `conversation.closed`, `conversation.extended`, `message.created`,
    /// `message.status_updated`); all when absent.
    #[param(example = "message.created,conversation.closed")]
    pub types: Option<String>,
    /// Only the events of this conversation.
    #[param(value_type = Option<uuid::Uuid>)]
    pub conversation_id: Option<String>,
}

/// The tenant's events, live, as Server-Sent Events (any role). Send `Last-Event-ID` (the
/// header EventSource sends on reconnecting) to receive exactly the events after that one.
#[utoipa::path(
    operation_id = "stream_events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream resumes after it")
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`: `id` = event id, `event` = type, `data` = `{\"type\", \"timestamp\", \"data\"}`", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem),
        (status = 422, description = "An unknown type, a malformed id, or a Last-Event-ID that is not kept", body = Problem)
    ),
    security(("api_key" = [])), tag = "events"
)]
#[get("/events")]
pub async fn stream(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<EventsQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .map(|value| value.to_str().map(str::to_owned).unwrap_or_default());
    let opened = state
        .events
        .open(
            &caller.0,
            StreamRequest { types: query.types, conversation_id: query.conversation_id, last_event_id },
        )
        .await?;
    let reader = Reader {
        events: state.events.clone(),
        principal: caller.0,
        stream: opened,
        settings: state.event_stream,
        last_write: Instant::now(),
        metrics: state.metrics.clone(),
    };
    state.metrics.event_streams_opened();
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((CACHE_CONTROL, "no-cache"))
        // Not compressed: a compressor would hold events back until its buffer fills.
        .insert_header((CONTENT_ENCODING, "identity"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(futures::stream::unfold(reader, Reader::next_chunk)))
}

/// One open stream.
struct Reader {
    events: EventService,
    principal: Principal,
    stream: OpenedStream,
    settings: StreamSettings,
    last_write: Instant,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.metrics.event_streams_closed();
    }
}

impl Reader {
    /// The next bytes to send: a batch of events, or a heartbeat once idle long enough. Never
    /// ends by itself; the client closes it.
    async fn next_chunk(mut self) -> Option<(Result<Bytes, actix_web::Error>, Self)> {
        loop {
            match self.events.next(&self.principal, &self.stream, BATCH).await {
                Ok((events, reached)) => {
                    self.stream.after = reached;
                    if !events.is_empty() {
                        let chunk: String = events.iter().map(|stored| frame(&stored.event)).collect();
                        self.last_write = Instant::now();
                        return Some((Ok(Bytes::from(chunk)), self));
                    }
                }
                // The outbox is unreachable for now: the stream stays open and reads again
                // (the reader misses nothing: it resumes from its position).
                Err(error) => tracing::warn!(%error, "event stream: cannot read the outbox; retrying"),
            }
            if self.last_write.elapsed() >= self.settings.heartbeat {
                self.last_write = Instant::now();
                return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), self));
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }
}

/// An event as one SSE message.
fn frame(event: &PublishedEvent) -> String {
    let payload = event.envelope();
    format!("id: {}\nevent: {}\ndata: {payload}\n\n", event.id, event.event_type)
}
