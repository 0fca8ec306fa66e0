//! The delivery worker's use case: fan the outbox out to endpoints, claim due deliveries, and
//! make one attempt of each, recording what came of it. The loop around it (how many attempts
//! run at once, when to look again) is the binary's.

use std::sync::Arc;

use domain::{AttemptOutcome, RetryDecision, WebhookAttempt, WebhookRetryPolicy};
use ports::{
    AttemptRecord, AttemptRecorded, ClaimedDelivery, Clock, DeliveryNext, Jitter, OutgoingWebhook,
    WebhookDeliveryQueue, WebhookQueueDepth, WebhookSender,
};

use crate::ServiceError;

/// What one attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptReport {
    /// The attempt's outcome.
    pub outcome: AttemptOutcome,
    /// What follows for the delivery.
    pub next: DeliveryNext,
    /// The reason, when this attempt disabled the endpoint.
    pub disabled: Option<String>,
    /// The claim had lapsed: nothing was recorded (another claim holds the delivery).
    pub lease_lost: bool,
}

/// Delivers events to tenants' endpoints (Standard Webhooks, at least once).
#[derive(Clone)]
pub struct WebhookDeliveryWorker {
    /// The deliveries.
    pub queue: Arc<dyn WebhookDeliveryQueue>,
    /// Outbound HTTP.
    pub sender: Arc<dyn WebhookSender>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for the backoff's jitter.
    pub jitter: Arc<dyn Jitter>,
    /// When to retry, and when to give up.
    pub policy: WebhookRetryPolicy,
    /// Disable an endpoint once this many attempts in a row failed, across events.
    pub disable_after_failures: u32,
    /// How long a claim holds a delivery (longer than an attempt can take).
    pub lease: chrono::Duration,
    /// The most deliveries of one endpoint in flight at once.
    pub per_endpoint: usize,
    /// The most events fanned out per endpoint per round.
    pub fan_out_batch: usize,
}

impl std::fmt::Debug for WebhookDeliveryWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDeliveryWorker").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl WebhookDeliveryWorker {
    /// Creates the deliveries of the events written since the last round; how many.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn fan_out(&self) -> Result<u64, ServiceError> {
        Ok(self.queue.fan_out_events(self.clock.now(), self.fan_out_batch).await?)
    }

    /// Claims up to `slots` due deliveries.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn claim(&self, slots: usize) -> Result<Vec<ClaimedDelivery>, ServiceError> {
        if slots == 0 {
            return Ok(Vec::new());
        }
        Ok(self.queue.claim_deliveries(self.clock.now(), slots, self.per_endpoint, self.lease).await?)
    }

    /// Makes one attempt of a claimed delivery and records it.
    ///
    /// # Errors
    /// Storage errors while recording (the claim then lapses and the delivery is tried again:
    /// at least once).
    #[tracing::instrument(skip_all, fields(owner_id = %claim.owner_id, webhook_endpoint_id = %claim.endpoint_id,
        delivery_id = %claim.delivery_id, event_id = %claim.event.id, attempt = claim.attempt))]
    pub async fn deliver(&self, claim: &ClaimedDelivery) -> Result<AttemptReport, ServiceError> {
        let attempted_at = self.clock.now();
        let webhook = OutgoingWebhook {
            url: claim.url.clone(),
            webhook_id: claim.event.id,
            timestamp: attempted_at,
            body: claim.event.envelope(),
            secrets: claim.secrets.clone(),
        };
        let response = self.sender.send(&webhook).await;
        let next = if response.outcome.is_success() {
            DeliveryNext::Succeeded
        } else {
            let failed_at = self.clock.now();
            match self.policy.after_failure(
                claim.attempt,
                claim.schedule_started_at,
                failed_at,
                self.jitter.sample(),
            ) {
                RetryDecision::RetryAt(at) => DeliveryNext::RetryAt(at),
                RetryDecision::GiveUp => DeliveryNext::GiveUp,
            }
        };
        let (status_code, error) = match &response.outcome {
            AttemptOutcome::TransportError { error } => (None, Some(error.clone())),
            other => (other.status(), None),
        };
        let record = AttemptRecord {
            attempt: WebhookAttempt {
                number: claim.attempt,
                attempted_at,
                status_code,
                error,
                latency_ms: response.latency_ms,
                response_excerpt: response.excerpt,
                next_attempt_at: match next {
                    DeliveryNext::RetryAt(at) => Some(at),
                    DeliveryNext::Succeeded | DeliveryNext::GiveUp => None,
                },
            },
            outcome: response.outcome.clone(),
            next,
            disable_after_failures: self.disable_after_failures,
        };
        let recorded = self.queue.record_attempt(claim, record).await?;
        let report = match recorded {
            AttemptRecorded::Recorded { disabled } => {
                AttemptReport { outcome: response.outcome, next, disabled, lease_lost: false }
            }
            AttemptRecorded::LeaseLost => {
                AttemptReport { outcome: response.outcome, next, disabled: None, lease_lost: true }
            }
        };
        match &report.disabled {
            Some(reason) => tracing::warn!(%reason, "webhook endpoint disabled"),
            None => tracing::info!(outcome = report.outcome.label(), ?next, "webhook attempt"),
        }
        Ok(report)
    }

    /// How much waits, across tenants.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn depth(&self) -> Result<WebhookQueueDepth, ServiceError> {
        Ok(self.queue.webhook_queue_depth(self.clock.now()).await?)
    }
}
