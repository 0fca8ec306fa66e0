//! Row types of the webhook tables and their conversions to domain values.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{EventType, WebhookAttempt, WebhookDelivery, WebhookDeliveryState, WebhookEndpoint, WebhookUrl};
use ports::StoreError;
use uuid::Uuid;

use crate::error::corrupt;
use crate::schema::{webhook_deliveries, webhook_delivery_attempts, webhook_endpoints};

/// An endpoint without its secrets: what every read but the worker's claim selects.
#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EndpointRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Stored event type names, read back.
pub(crate) fn event_types(names: &[String]) -> Result<Vec<EventType>, StoreError> {
    names.iter().map(|name| name.parse().map_err(|e| corrupt("webhook event type", e))).collect()
}

/// A stored URL, read back. It was checked when written; `http` is admitted on reading so an
/// endpoint registered while private targets were allowed still reads (its deliveries are then
/// refused by the sender).
pub(crate) fn stored_url(raw: &str) -> Result<WebhookUrl, StoreError> {
    WebhookUrl::parse(raw, true).map_err(|e| corrupt("webhook endpoint url", e))
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(row: EndpointRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            url: stored_url(&row.url)?,
            event_types: event_types(&row.event_types)?,
            description: row.description,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(0),
            previous_secret_expires_at: row.previous_secret_expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub(crate) struct DeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_delivery_attempts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AttemptRow {
    pub delivery_id: Uuid,
    pub number: i32,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub response_excerpt: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(row: AttemptRow) -> Self {
        Self {
            number: u32::try_from(row.number).unwrap_or(0),
            attempted_at: row.attempted_at,
            status_code: row.status_code.and_then(|code| u16::try_from(code).ok()),
            error: row.error,
            latency_ms: u32::try_from(row.latency_ms).unwrap_or(0),
            response_excerpt: row.response_excerpt,
            next_attempt_at: row.next_attempt_at,
        }
    }
}

/// A delivery with its attempts (the attempts of other deliveries are left for them).
pub(crate) fn delivery(
    row: DeliveryRow,
    attempts: &mut Vec<AttemptRow>,
) -> Result<WebhookDelivery, StoreError> {
    let state = WebhookDeliveryState::parse(&row.state)
        .ok_or_else(|| corrupt("webhook delivery state", &row.state))?;
    let (mine, others): (Vec<_>, Vec<_>) = attempts.drain(..).partition(|a| a.delivery_id == row.id);
    *attempts = others;
    Ok(WebhookDelivery {
        id: row.id.into(),
        endpoint_id: row.endpoint_id.into(),
        event_id: row.event_id.into(),
        event_type: row.event_type.parse().map_err(|e| corrupt("webhook delivery event type", e))?,
        state,
        next_attempt_at: row.next_attempt_at,
        created_at: row.created_at,
        attempts: mine.into_iter().map(WebhookAttempt::from).collect(),
    })
}
