//! The outbound dispatcher: hands queued messages to the messaging gateway, retrying
//! temporary failures with backoff.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::{RetryDecision, RetryPolicy, SendJob};
use ports::{
    ClaimedSend, Clock, DeliveryFailure, GatewayError, Jitter, MessagingGateway, OutboundEnvelope, Pause,
    Recorded, SendQueue, SendReceipt, StoreError,
};

use crate::ServiceError;

/// How recording an accepted send is retried when the database fails: quickly, a few times,
/// and never past the lease (after it, another claim may hold the job). The message is never
/// sent again for it: Twilio has it.
const RECORD_RETRY: RetryPolicy = RetryPolicy { max_attempts: 8, base_delay_ms: 100, max_delay_ms: 2_000 };

/// What one dispatch run did with the jobs it claimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Accepted by the provider.
    pub sent: usize,
    /// Failed temporarily and scheduled again.
    pub retried: usize,
    /// Failed for good (refused, out of attempts, no account to send with, a deactivated
    /// tenant or account).
    pub failed: usize,
    /// Jobs whose outcome could not be recorded. One that was not sent is claimed again when
    /// its lease lapses; one the provider accepted is recorded again for as long as the lease
    /// lasts first.
    pub errors: usize,
    /// Jobs whose message already had a provider id (accepted under an earlier claim, recorded
    /// by a status callback or by that claim's late record): finished without sending again.
    pub already_accepted: usize,
    /// Jobs this run no longer held when it came to record them (or to send them): their lease
    /// lapsed, and the job belongs to its next claim.
    pub lease_lost: usize,
}

/// What happened to one job.
enum Outcome {
    Sent,
    Retried,
    Failed,
    AlreadyAccepted,
    LeaseLost,
}

impl Outcome {
    /// `self` if the claim still held the job when it was recorded.
    const fn under(self, recorded: Recorded) -> Self {
        match recorded {
            Recorded::Applied => self,
            Recorded::LeaseLost => Self::LeaseLost,
        }
    }
}

/// Sends due messages of every tenant. Several dispatchers may run at once: the queue leases
/// each claimed job to one of them, and fences every outcome by that claim.
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
    /// Waiting between attempts to record an accepted send.
    pub pause: Arc<dyn Pause>,
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
    /// the others. No send starts once the batch's lease has ended.
    ///
    /// # Errors
    /// Storage errors of the claim itself.
    #[tracing::instrument(skip_all)]
    pub async fn run_once(&self) -> Result<DispatchReport, ServiceError> {
        let claimed_at = self.clock.now();
        let claimed = self.queue.claim_due(claimed_at, self.batch_size, self.lease).await?;
        let lease_ends = claimed_at + self.lease;
        let mut report = DispatchReport::default();
        for claim in claimed {
            let job_id = claim.job.id;
            // Past its lease the job may be another worker's already: sending it would be the
            // second send the lease exists to prevent.
            if self.clock.now() >= lease_ends {
                tracing::warn!(job_id = %job_id, "the batch's lease ended before this job was sent; left to its next claim");
                report.lease_lost += 1;
                continue;
            }
            match self.dispatch(claim, lease_ends).await {
                Ok(Outcome::Sent) => report.sent += 1,
                Ok(Outcome::Retried) => report.retried += 1,
                Ok(Outcome::Failed) => report.failed += 1,
                Ok(Outcome::AlreadyAccepted) => report.already_accepted += 1,
                Ok(Outcome::LeaseLost) => report.lease_lost += 1,
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
                already_accepted = report.already_accepted,
                lease_lost = report.lease_lost,
                "outbound messages dispatched"
            );
        }
        Ok(report)
    }

    /// Sends one job and records the outcome.
    #[tracing::instrument(skip_all, fields(owner_id = %claim.job.owner_id, message_id = %claim.job.message_id))]
    async fn dispatch(&self, claim: ClaimedSend, lease_ends: DateTime<Utc>) -> Result<Outcome, StoreError> {
        let ClaimedSend { job, message, from, to, credentials } = claim;
        // Twilio took this message under an earlier claim (its id reached the message through
        // that claim's late record or a status callback): finish the job, send nothing.
        if let Some(sid) = message.provider_sid {
            tracing::info!(provider_sid = %sid, "already accepted by the provider; not sent again");
            let recorded = self.queue.mark_sent(job, sid, message.delivery_status, self.clock.now()).await?;
            return Ok(Outcome::AlreadyAccepted.under(recorded));
        }
        let credentials = match credentials {
            Ok(credentials) => credentials,
            Err(why) => {
                tracing::warn!(%from, reason = %why, "message not sendable; failed without calling the provider");
                let failure = DeliveryFailure { code: None, message: Some(why.to_string()) };
                let recorded = self.queue.mark_failed(job, failure, self.clock.now()).await?;
                return Ok(Outcome::Failed.under(recorded));
            }
        };
        let envelope = OutboundEnvelope {
            owner_id: job.owner_id,
            message_id: job.message_id,
            from,
            to,
            body: message.body.map(domain::MessageBody::into_inner),
            media_urls: message.media.into_iter().map(|media| media.url).collect(),
            template: message.template,
            credentials,
        };
        match self.gateway.send(envelope).await {
            Ok(receipt) => {
                tracing::info!(provider_sid = %receipt.provider_sid, status = %receipt.status, "message sent");
                self.record_acceptance(job, receipt, lease_ends).await
            }
            Err(GatewayError::Retryable { reason }) => {
                let now = self.clock.now();
                let attempt = job.attempts.saturating_add(1);
                match self.policy.after_failure(attempt, now, self.jitter.sample()) {
                    RetryDecision::RetryAt(retry_at) => {
                        tracing::warn!(attempt, %retry_at, %reason, "send failed; will retry");
                        let recorded = self.queue.schedule_retry(job, retry_at, reason, now).await?;
                        Ok(Outcome::Retried.under(recorded))
                    }
                    RetryDecision::GiveUp => {
                        tracing::warn!(attempt, %reason, "send failed; out of attempts");
                        let failure = DeliveryFailure { code: None, message: Some(reason) };
                        let recorded = self.queue.mark_failed(job, failure, now).await?;
                        Ok(Outcome::Failed.under(recorded))
                    }
                }
            }
            Err(GatewayError::Permanent { code, reason }) => {
                tracing::warn!(?code, %reason, "send refused by the provider");
                let failure = DeliveryFailure { code, message: Some(reason) };
                let recorded = self.queue.mark_failed(job, failure, self.clock.now()).await?;
                Ok(Outcome::Failed.under(recorded))
            }
        }
    }

    /// Records that the provider accepted the job's message. A database that fails is asked
    /// again, with backoff, until the lease ends; the job is never released for another send
    /// meanwhile (it stays leased), and once the lease is gone the next claim finds the
    /// provider id if any record (this one, late, or a status callback) got through.
    async fn record_acceptance(
        &self,
        job: SendJob,
        receipt: SendReceipt,
        lease_ends: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let SendReceipt { provider_sid: sid, status } = receipt;
        let mut attempt = 1;
        loop {
            match self.queue.mark_sent(job.clone(), sid.clone(), status, self.clock.now()).await {
                Ok(Recorded::Applied) => return Ok(Outcome::Sent),
                Ok(Recorded::LeaseLost) => {
                    tracing::warn!(provider_sid = %sid, "the lease lapsed before the send was recorded; the provider id is on the message, so it is not sent again");
                    return Ok(Outcome::LeaseLost);
                }
                // The provider answered with an id another message of the tenant already
                // has: the send cannot be recorded as it is. Left leased, the job would be
                // sent again after every lease, so it ends here, failed, with the reason.
                Err(StoreError::Conflict(kind)) => {
                    tracing::error!(provider_sid = %sid, conflict = kind.code(), "the provider's message id is already stored");
                    let reason =
                        format!("the provider accepted it as {sid}, an id another message already has");
                    let failure = DeliveryFailure { code: None, message: Some(reason) };
                    let recorded = self.queue.mark_failed(job, failure, self.clock.now()).await?;
                    return Ok(Outcome::Failed.under(recorded));
                }
                Err(error @ (StoreError::Unavailable(_) | StoreError::Internal(_))) => {
                    let now = self.clock.now();
                    match RECORD_RETRY.after_failure(attempt, now, self.jitter.sample()) {
                        RetryDecision::RetryAt(again) if again < lease_ends => {
                            tracing::warn!(attempt, provider_sid = %sid, %error, "could not record an accepted send; recording it again (it is not sent again)");
                            self.pause.pause((again - now).to_std().unwrap_or_default()).await;
                            attempt += 1;
                        }
                        _ => {
                            tracing::error!(attempt, provider_sid = %sid, %error, "an accepted send could not be recorded within its lease");
                            return Err(error);
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }
}
