//! Liveness and readiness.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The process is alive.
#[utoipa::path(responses((status = 200, description = "Alive", content_type = "application/json", example = json!({"status": "ok"}))), tag = "health")]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The service can do its work: the database answers within a second.
#[utoipa::path(responses(
    (status = 200, description = "Ready", content_type = "application/json", example = json!({"status": "ready"})),
    (status = 503, description = "The database does not answer", body = Problem,
        headers(("Retry-After" = u32, description = "Seconds to wait before asking again")))
), tag = "health")]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match tokio::time::timeout(Duration::from_secs(1), state.store.ping()).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database unavailable");
            Err(not_ready())
        }
        Err(_) => Err(not_ready()),
    }
}

fn not_ready() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "Not ready",
        "the database does not answer",
    )
}

/// Twilio-facing liveness, for monitors configured on the webhook path.
#[utoipa::path(responses((status = 200, description = "Alive", content_type = "application/json", example = json!({"status": "ok"}))), tag = "webhooks")]
#[get("/webhooks/twilio/health")]
pub async fn twilio_health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "service": "twilio-webhooks"}))
}
