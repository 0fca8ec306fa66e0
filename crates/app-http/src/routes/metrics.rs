//! `GET /metrics`: the service's metrics for Prometheus, behind a bearer token when one is
//! configured (`CONVERSA_METRICS_TOKEN`).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, web};
use adapters_postgres::PgStore;
use chrono::Utc;
use ports::{SendQueue, SendQueueDepth};
use subtle::ConstantTimeEq;

use crate::auth::bearer_token;
use crate::metrics::{self, StoreSnapshot};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// How long a scrape waits for the send-queue count before answering without it.
const SEND_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// The service's metrics in the OpenMetrics text format (series listed in `docs/METRICS.md`).
#[utoipa::path(
    operation_id = "metrics",
    responses(
        (status = 200, description = "The metrics", content_type = "application/openmetrics-text"),
        (status = 401, description = "A metrics token is configured and was not sent", body = Problem,
            content_type = "application/problem+json"),
    ),
    security((), ("metrics_token" = [])),
    tag = "health"
)]
#[get("/metrics")]
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    authorize(&state, &req)?;
    let at = Utc::now();
    let snapshot = StoreSnapshot {
        pool: state.store.pool_status(),
        send_queue: send_queue_depth(&state.store, at).await,
        spool: state
            .spool
            .stats()
            .await
            .inspect_err(|error| tracing::warn!(%error, "metrics: the webhook spool could not be read"))
            .ok(),
        batches: state.store.webhook_batch_stats(),
        webhook_queue: webhook_queue_depth(&state.store, at).await,
        at,
    };
    let text = state.metrics.encode(&snapshot).map_err(|error| {
        tracing::error!(%error, "metrics could not be encoded");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side",
        )
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, metrics::CONTENT_TYPE))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(text))
}

/// Lets the request through when no token is configured or it presents the token.
fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(expected) = &state.metrics_token else {
        return Ok(());
    };
    let presented = bearer_token(req).unwrap_or_default();
    // Constant time, so the response time does not tell how much of a guess was right.
    if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("send `Authorization: Bearer <metrics token>`"))
    }
}

/// The webhook deliveries' depth, or `None` (logged), as for the send queue.
async fn webhook_queue_depth(store: &PgStore, at: chrono::DateTime<Utc>) -> Option<ports::WebhookQueueDepth> {
    use ports::WebhookDeliveryQueue;
    match tokio::time::timeout(SEND_QUEUE_TIMEOUT, store.webhook_queue_depth(at)).await {
        Ok(Ok(depth)) => Some(depth),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the webhook deliveries could not be counted");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: counting the webhook deliveries timed out");
            None
        }
    }
}

/// The send queue's depth, or `None` (logged) when the database fails or is slow: a scrape
/// still answers with everything else, when it is most needed.
async fn send_queue_depth(store: &PgStore, at: chrono::DateTime<Utc>) -> Option<SendQueueDepth> {
    match tokio::time::timeout(SEND_QUEUE_TIMEOUT, store.depth(at)).await {
        Ok(Ok(depth)) => Some(depth),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the send queue could not be counted");
            None
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = SEND_QUEUE_TIMEOUT.as_millis(),
                "metrics: counting the send queue timed out"
            );
            None
        }
    }
}
