//! Replaying the spool: webhooks kept while the database was unavailable, stored once it
//! answers, each conversation's oldest first.

use domain::AccountSid;
use ports::{SpoolSeq, SpooledKind, SpooledWebhook, StoreError};

use super::delivery::parse_status;
use super::inbound::parse_inbound;
use super::{Form, TwilioWebhookService};
use crate::ServiceError;

/// What one drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Entries stored in the database (or found already there) and removed from the spool.
    pub replayed: usize,
    /// Entries that can never be stored, moved to the spool's dead letters.
    pub buried: usize,
    /// Whether the drain stopped because the database is still unavailable.
    pub stalled: bool,
}

/// Why one entry was not replayed.
enum NotReplayed {
    /// The database is still unavailable: stop, keep it, try again later.
    Unavailable(StoreError),
    /// It can never be stored.
    Never(String),
}

impl From<StoreError> for NotReplayed {
    fn from(error: StoreError) -> Self {
        match error {
            // An unexpected failure is no proof that the entry can never be stored: kept.
            StoreError::Unavailable(_) | StoreError::Internal(_) => Self::Unavailable(error),
            other => Self::Never(other.to_string()),
        }
    }
}

impl From<ServiceError> for NotReplayed {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unavailable(why) => Self::Unavailable(StoreError::Unavailable(why)),
            other => Self::Never(other.to_string()),
        }
    }
}

/// The entries that must be replayed one after another, in arrival order: those of one
/// conversation (an inbound message's account and numbers) or of one message (a status
/// callback's MessageSid). Different lanes touch different rows and are replayed concurrently.
fn lane(entry: &SpooledWebhook) -> (SpooledKind, String, String, String) {
    let field = |name: &str| {
        entry.fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
    };
    match entry.kind {
        SpooledKind::Inbound => (entry.kind, entry.account_sid.clone(), field("From"), field("To")),
        SpooledKind::Status => (entry.kind, entry.account_sid.clone(), field("MessageSid"), String::new()),
    }
}

/// What replaying one lane did.
#[derive(Default)]
struct LaneOutcome {
    replayed: Vec<SpoolSeq>,
    never: Vec<(SpoolSeq, String)>,
    stalled: bool,
}

impl TwilioWebhookService {
    /// Replays up to `batch` spooled webhooks, each as of the time it was received (its message
    /// id and timestamps are those of its arrival), through the same parsing and storing as a
    /// live webhook. Those of one conversation (or, for status callbacks, of one message) are
    /// replayed one after another in arrival order; different conversations concurrently, so
    /// the store can group them as it groups live webhooks (a spool of thousands drains in
    /// seconds). Storing is idempotent by `MessageSid`, so an entry replayed twice, or one whose
    /// first attempt did reach the database, is stored once. The signature was verified when
    /// the webhook arrived and is not checked again; the tenant's auto-reply is not sent (Twilio
    /// already had its answer). A conversation's replay stops at its first entry the database
    /// still cannot take (the drain then reports itself stalled); an entry that can never be
    /// stored (its account is gone, its fields no longer fit the account) is buried, not
    /// retried forever.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] when the spool itself fails.
    #[tracing::instrument(skip_all)]
    pub async fn drain_spool(&self, batch: usize) -> Result<DrainReport, ServiceError> {
        let spool_failed = |e: ports::SpoolError| ServiceError::Unavailable(e.to_string());
        let mut lanes: Vec<Vec<(SpoolSeq, SpooledWebhook)>> = Vec::new();
        let mut lane_of = std::collections::HashMap::new();
        for (seq, entry) in self.spool.oldest(batch).await.map_err(spool_failed)? {
            let index = *lane_of.entry(lane(&entry)).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lanes[index].push((seq, entry));
        }
        let outcomes = futures::future::join_all(lanes.into_iter().map(|lane| self.replay_lane(lane))).await;
        let mut report = DrainReport::default();
        let mut replayed = Vec::new();
        for outcome in outcomes {
            replayed.extend(outcome.replayed);
            report.stalled |= outcome.stalled;
            // One at a time, after the replays: the spool's writes take turns anyway.
            for (seq, reason) in outcome.never {
                tracing::error!(seq = seq.0, %reason, "spooled webhook can never be stored; buried");
                self.spool.bury(seq, reason).await.map_err(spool_failed)?;
                report.buried += 1;
            }
        }
        report.replayed = replayed.len();
        if !replayed.is_empty() {
            // Removed together after the batch: a crash before that replays them again, which
            // stores nothing twice.
            self.spool.remove(replayed).await.map_err(spool_failed)?;
            tracing::info!(replayed = report.replayed, "spooled webhooks replayed");
        }
        Ok(report)
    }

    /// Replays one lane's entries in order, stopping at the first the database cannot take.
    async fn replay_lane(&self, lane: Vec<(SpoolSeq, SpooledWebhook)>) -> LaneOutcome {
        let mut outcome = LaneOutcome::default();
        for (seq, entry) in lane {
            match self.replay(entry).await {
                Ok(()) => outcome.replayed.push(seq),
                Err(NotReplayed::Unavailable(error)) => {
                    tracing::debug!(%error, seq = seq.0, "database still unavailable; spool kept");
                    outcome.stalled = true;
                    break;
                }
                Err(NotReplayed::Never(reason)) => outcome.never.push((seq, reason)),
            }
        }
        outcome
    }

    #[tracing::instrument(skip_all, fields(account_sid = %entry.account_sid, owner_id, conversation_id, message_id, message_sid))]
    async fn replay(&self, entry: SpooledWebhook) -> Result<(), NotReplayed> {
        let sid = AccountSid::parse(&entry.account_sid).map_err(|e| NotReplayed::Never(e.to_string()))?;
        // Any failure to read the account (the database, or a token the configured key cannot
        // decrypt during a botched key rotation) is retried later: the entry was verified once,
        // and only an account that is gone is reason to give it up.
        let account = self
            .accounts
            .webhook_account(&sid)
            .await
            .map_err(|e| NotReplayed::Unavailable(StoreError::Unavailable(e.to_string())))?
            .ok_or_else(|| NotReplayed::Never("the Twilio account is no longer active".to_owned()))?;
        let form = Form::new(entry.fields);
        match entry.kind {
            SpooledKind::Inbound => {
                let parsed = parse_inbound(&account.credentials.account, &form)?;
                self.store_inbound(&account, parsed, entry.received_at).await?;
            }
            SpooledKind::Status => {
                let parsed = parse_status(&form, entry.message_id)?;
                self.apply_status(account.credentials.account.owner_id, parsed, entry.received_at).await?;
            }
        }
        Ok(())
    }
}
