//! The outbound dispatcher: hands queued messages to the messaging gateway, retrying
//! temporary failures with backoff.

use std::sync::Arc;

use chrono::Duration;
use domain::{RetryDecision, RetryPolicy};
use ports::ClaimedSend;
use ports::{
    Clock, DeliveryFailure, GatewayError, Jitter, MessagingGateway, OutboundEnvelope, SendQueue, StoreError,
};

use crate::ServiceError;

/// What one dispatch run did with the jobs it claimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Accepted by the provider.
    pub sent: usize,
    /// Failed temporarily and scheduled again.
    pub retried: usize,
    /// Failed for good (refused, out of attempts, or no account to send with).
    pub failed: usize,
    /// Jobs whose outcome could not be recorded; their lease lapses and they are claimed again.
    pub errors: usize,
}

/// What happened to one job.
enum Outcome {
    Sent,
    Retried,
    Failed,
}

/// Sends due messages of every tenant. Several dispatchers may run at once: the queue leases
/// each claimed job to one of them.
#[derive(Clone)]
pub struct OutboundDispatcher {
    /// The send queue.
    pub queue: Arc<dyn SendQueue>,
    /// The provider.
    pub gateway: Arc<dyn MessagingGateway>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for the retry delay.
    pub jitter: Arc<dyn Jitter>,
    /// When temporary failures are retried.
    pub policy: RetryPolicy,
    /// How long a claimed job is reserved for this dispatcher.
    pub lease: Duration,
    /// Jobs claimed per run.
    pub batch_size: u32,
}

impl std::fmt::Debug for OutboundDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundDispatcher")
            .field("policy", &self.policy)
            .field("lease", &self.lease)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl OutboundDispatcher {
    /// Claims up to `batch_size` due jobs and sends them one after the other. A job whose
    /// outcome cannot be recorded is counted in [`DispatchReport::errors`] and does not stop
    /// the others.
    ///
    /// # Errors
    /// Storage errors of the claim itself.
    #[tracing::instrument(skip_all)]
    pub async fn run_once(&self) -> Result<DispatchReport, ServiceError> {
        let claimed = self.queue.claim_due(self.clock.now(), self.batch_size, self.lease).await?;
        let mut report = DispatchReport::default();
        for claim in claimed {
            let job_id = claim.job.id;
            match self.dispatch(claim).await {
                Ok(Outcome::Sent) => report.sent += 1,
                Ok(Outcome::Retried) => report.retried += 1,
                Ok(Outcome::Failed) => report.failed += 1,
                Err(error) => {
                    tracing::error!(job_id = %job_id, %error, "could not record the outcome of a send");
                    report.errors += 1;
                }
            }
        }
        if report != DispatchReport::default() {
            tracing::info!(
                sent = report.sent,
                retried = report.retried,
                failed = report.failed,
                errors = report.errors,
                "outbound messages dispatched"
            );
        }
        Ok(report)
    }

    /// Sends one job and records the outcome.
    #[tracing::instrument(skip_all, fields(owner_id = %claim.job.owner_id, message_id = %claim.job.message_id))]
    async fn dispatch(&self, claim: ClaimedSend) -> Result<Outcome, StoreError> {
        let ClaimedSend { job, message, from, to, credentials } = claim;
        let Some(credentials) = credentials else {
            tracing::warn!(%from, "no active account owns the sending number");
            let failure =
                DeliveryFailure { code: None, message: Some(format!("no active account owns {from}")) };
            self.queue.mark_failed(job, failure, self.clock.now()).await?;
            return Ok(Outcome::Failed);
        };
        let envelope = OutboundEnvelope {
            owner_id: job.owner_id,
            message_id: job.message_id,
            from,
            to,
            body: message.body.map(domain::MessageBody::into_inner),
            media_urls: message.media.into_iter().map(|media| media.url).collect(),
            credentials,
        };
        match self.gateway.send(envelope).await {
            Ok(receipt) => {
                tracing::info!(provider_sid = %receipt.provider_sid, status = %receipt.status, "message sent");
                let sid = receipt.provider_sid.clone();
                match self
                    .queue
                    .mark_sent(job.clone(), receipt.provider_sid, receipt.status, self.clock.now())
                    .await
                {
                    Ok(()) => Ok(Outcome::Sent),
                    // The provider answered with an id another message of the tenant already
                    // has: the send cannot be recorded as it is. Left leased, the job would be
                    // sent again after every lease, so it ends here, failed, with the reason.
                    Err(StoreError::Conflict(kind)) => {
                        tracing::error!(provider_sid = %sid, conflict = kind.code(), "the provider's message id is already stored");
                        let reason =
                            format!("the provider accepted it as {sid}, an id another message already has");
                        let failure = DeliveryFailure { code: None, message: Some(reason) };
                        self.queue.mark_failed(job, failure, self.clock.now()).await?;
                        Ok(Outcome::Failed)
                    }
                    Err(other) => Err(other),
                }
            }
            Err(GatewayError::Retryable { reason }) => {
                let now = self.clock.now();
                let attempt = job.attempts.saturating_add(1);
                match self.policy.after_failure(attempt, now, self.jitter.sample()) {
                    RetryDecision::RetryAt(retry_at) => {
                        tracing::warn!(attempt, %retry_at, %reason, "send failed; will retry");
                        self.queue.schedule_retry(job, retry_at, reason, now).await?;
                        Ok(Outcome::Retried)
                    }
                    RetryDecision::GiveUp => {
                        tracing::warn!(attempt, %reason, "send failed; out of attempts");
                        let failure = DeliveryFailure { code: None, message: Some(reason) };
                        self.queue.mark_failed(job, failure, now).await?;
                        Ok(Outcome::Failed)
                    }
                }
            }
            Err(GatewayError::Permanent { code, reason }) => {
                tracing::warn!(?code, %reason, "send refused by the provider");
                let failure = DeliveryFailure { code, message: Some(reason) };
                self.queue.mark_failed(job, failure, self.clock.now()).await?;
                Ok(Outcome::Failed)
            }
        }
    }
}
