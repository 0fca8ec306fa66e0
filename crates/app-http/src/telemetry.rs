//! Logging: one line per request with a request id (also returned as `x-request-id`), JSON in
//! production and pretty in development. Bodies, keys and tokens are never logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use domain::Principal;
use tracing::Instrument;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The request id header, read from the caller when it sends a sane one, else generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request this task is handling, set by [`request_log`] around the whole
    /// handling of the request, so that an error answer can carry it (see `problem`).
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being handled, when called while one is (see [`request_log`]).
#[must_use]
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Installs the global subscriber. Call once, and keep the guard until the process ends: the
/// lines still queued are written when it drops.
///
/// Lines are written by a thread of their own (tracing-appender's non-blocking writer, through
/// a buffer flushed whenever its queue is empty), not by the thread that logs: the request log
/// writes a line per request, and writing it in place, one unbuffered `write` to stderr each,
/// measured at a quarter of the service's CPU per webhook (`scripts/bench-webhook`, ADR 0021).
/// When the queue is full the logging thread waits (`lossy(false)`): no line is dropped.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat, filter: &str) -> WorkerGuard {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so the operator commands' JSON on stdout stays parseable.
    let (writer, guard) =
        NonBlockingBuilder::default().lossy(false).finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(writer);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging was already initialised: {error}");
    }
    guard
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Middleware: a span per request carrying its id, one completion line, and the id echoed back
/// (in the `x-request-id` header, and in the body of an error answer).
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let started = Instant::now();
    let mut response = CURRENT_REQUEST_ID.scope(id.clone(), next.call(req)).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let owner_id = response.request().extensions().get::<Principal>().map(|p| p.owner_id.to_string());
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            status,
            route,
            owner_id = owner_id.as_deref().unwrap_or("-"),
            latency_ms,
            "request completed"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}
