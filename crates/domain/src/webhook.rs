//! Tenants' webhook endpoints and the deliveries of events to them (Standard Webhooks).
//!
//! An endpoint is a URL the tenant's systems listen on, the event types it wants and a signing
//! secret; a delivery is one event sent to one endpoint, retried until it succeeds or its
//! schedule ends, each attempt kept so the tenant can see what happened.

mod retry;
mod url;

use chrono::{DateTime, Utc};

use crate::{EventId, EventType, OwnerId, SecretString, WebhookDeliveryId, WebhookEndpointId};

pub use retry::WebhookRetryPolicy;
pub use url::{MAX_WEBHOOK_URL_LEN, WebhookUrl, WebhookUrlError};

/// A tenant's webhook endpoint as the API shows it: never its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub id: WebhookEndpointId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// Where deliveries are posted.
    pub url: WebhookUrl,
    /// The event types delivered; empty: all.
    pub event_types: Vec<EventType>,
    /// A label.
    pub description: Option<String>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Why the service disabled it (after its retries ran out or it failed too often in a row).
    pub disabled_reason: Option<String>,
    /// Failed attempts in a row, across events (a success resets it).
    pub consecutive_failures: u32,
    /// Until when the secret replaced by the last rotation still signs beside the new one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// Whether the endpoint wants events of `event_type`.
    #[must_use]
    pub fn wants(&self, event_type: EventType) -> bool {
        self.event_types.is_empty() || self.event_types.contains(&event_type)
    }
}

/// Input to register an endpoint, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWebhookEndpoint {
    /// Where deliveries are posted.
    pub url: WebhookUrl,
    /// The event types delivered, without repeats; empty: all.
    pub event_types: Vec<EventType>,
    /// A label.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`), stored encrypted.
    pub secret: SecretString,
}

/// Changes to an endpoint, validated; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookEndpointChanges {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// New event types (empty: all).
    pub event_types: Option<Vec<EventType>>,
    /// A new label; `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// On or off; turning it on clears the disabled reason and the failure count.
    pub enabled: Option<bool>,
}

impl WebhookEndpointChanges {
    /// Whether nothing would change.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.url.is_none()
            && self.event_types.is_none()
            && self.description.is_none()
            && self.enabled.is_none()
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookDeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt got a 2xx answer.
    Succeeded,
    /// Its retry schedule ended, or its endpoint was disabled, without a success.
    Failed,
}

impl WebhookDeliveryState {
    /// The stored and wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// The state named `name` (`None` for an unknown name).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == name)
    }
}

/// What one attempt got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer in time.
    Succeeded {
        /// The HTTP status.
        status: u16,
    },
    /// An answer outside 2xx (a redirect included: redirects are not followed).
    HttpError {
        /// The HTTP status.
        status: u16,
    },
    /// No answer: the address was refused, the connection failed, or the time ran out.
    TransportError {
        /// What went wrong, for the tenant (never a secret).
        error: String,
    },
}

impl AttemptOutcome {
    /// Whether the attempt delivered the event.
    #[must_use]
    pub const fn is_success(&self) -> bool {
        matches!(self, Self::Succeeded { .. })
    }

    /// The HTTP status, when there was an answer.
    #[must_use]
    pub const fn status(&self) -> Option<u16> {
        match self {
            Self::Succeeded { status } | Self::HttpError { status } => Some(*status),
            Self::TransportError { .. } => None,
        }
    }

    /// A stable label (metrics, logs): `success`, `http_error`, `transport_error`.
    #[must_use]
    pub const fn label(&self) -> &'static str {
        match self {
            Self::Succeeded { .. } => "success",
            Self::HttpError { .. } => "http_error",
            Self::TransportError { .. } => "transport_error",
        }
    }
}

/// One attempt of a delivery, as the tenant sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status, when the endpoint answered.
    pub status_code: Option<u16>,
    /// The transport error, when it did not.
    pub error: Option<String>,
    /// How long the endpoint took to answer (or to fail), in milliseconds.
    pub latency_ms: u32,
    /// The start of the endpoint's answer, at most [`WebhookAttempt::EXCERPT_CHARS`] characters.
    pub response_excerpt: Option<String>,
    /// When the next attempt was scheduled after this one (`None`: no more attempts).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl WebhookAttempt {
    /// The most characters of an answer kept with an attempt.
    pub const EXCERPT_CHARS: usize = 256;
}

/// One event sent to one endpoint, with its attempts so far (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The delivery's id.
    pub id: WebhookDeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// The event (the `webhook-id` of every attempt).
    pub event_id: EventId,
    /// Its type.
    pub event_type: EventType,
    /// Where it stands.
    pub state: WebhookDeliveryState,
    /// When the next attempt is due (`None` once it succeeded or failed).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was fanned out to the endpoint.
    pub created_at: DateTime<Utc>,
    /// The attempts made.
    pub attempts: Vec<WebhookAttempt>,
}
