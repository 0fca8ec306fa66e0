//! The bodies of the webhook endpoint routes.

use chrono::{DateTime, Utc};
use domain::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::routes::admin::present;

/// Input to register a webhook endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://crm.example/hooks/conversa", "events": ["message.created"], "description": "CRM"}))]
pub struct CreateWebhookEndpointIn {
    /// Where deliveries are posted: an absolute `https` URL whose host is a public address
    /// (`http` and private addresses only with `CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS`).
    pub url: String,
    /// The event types delivered (`conversation.created`, …, `message.status_updated`); empty
    /// or left out: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// A label.
    pub description: Option<String>,
}

/// Changes to a webhook endpoint, as a JSON merge patch: a field left out stays as it is;
/// `null` removes `description` and is refused for the others.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct UpdateWebhookEndpointIn {
    /// A new URL (the same rules as at registration).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub url: Option<Option<String>>,
    /// New event types; empty: all.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>)]
    pub events: Option<Option<Vec<String>>>,
    /// A new label; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `false` stops deliveries (pending ones fail); `true` starts them again from the events
    /// written from then on, clearing `disabled_reason` and `consecutive_failures`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub enabled: Option<Option<bool>>,
}

/// A webhook endpoint of the tenant (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointOut {
    /// Its id.
    pub id: Uuid,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered; empty: all.
    pub events: Vec<String>,
    /// Label.
    pub description: Option<String>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Why the service disabled it (its retries ran out, or too many attempts in a row failed).
    pub disabled_reason: Option<String>,
    /// Failed attempts in a row, across events.
    pub consecutive_failures: u32,
    /// Until when the secret replaced by the last rotation still signs beside the current one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookEndpointOut {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            url: e.url.as_str().to_owned(),
            events: e.event_types.iter().map(|t| t.as_str().to_owned()).collect(),
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            consecutive_failures: e.consecutive_failures,
            previous_secret_expires_at: e.previous_secret_expires_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A webhook endpoint with its signing secret: shown once, at registration or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecretOut {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpointOut,
    /// The signing secret (`whsec_` and base64): verify deliveries with it. Not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptOut {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status of the answer; `null` when there was none.
    pub status_code: Option<u16>,
    /// The transport error when there was no answer (refused address, connection, timeout).
    pub error: Option<String>,
    /// Milliseconds until the answer or the failure.
    pub latency_ms: u32,
    /// The start of the answer's body.
    pub response_excerpt: Option<String>,
    /// When the next attempt was scheduled after this one; `null`: none.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<WebhookAttempt> for WebhookAttemptOut {
    fn from(a: WebhookAttempt) -> Self {
        Self {
            attempt: a.number,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            error: a.error,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
            next_attempt_at: a.next_attempt_at,
        }
    }
}

/// One event's delivery to the endpoint, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    /// The delivery's id (to retry it).
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The event: the `webhook-id` of every attempt.
    pub event_id: Uuid,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    /// When the next attempt is due; `null` once it succeeded or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was fanned out to the endpoint.
    pub created_at: DateTime<Utc>,
    /// The attempts, oldest first.
    pub attempts: Vec<WebhookAttemptOut>,
}

impl From<WebhookDelivery> for WebhookDeliveryOut {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.as_uuid(),
            endpoint_id: d.endpoint_id.as_uuid(),
            event_id: d.event_id.as_uuid(),
            event_type: d.event_type.as_str().to_owned(),
            state: d.state.as_str().to_owned(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            attempts: d.attempts.into_iter().map(WebhookAttemptOut::from).collect(),
        }
    }
}
