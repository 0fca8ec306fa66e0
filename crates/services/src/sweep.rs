//! The lifecycle sweeper: closes conversations that expired or went idle, and confirms or drops
//! pending closures once their grace period is over.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::closure::{ClosureConfig, ClosureDetector, MAX_WINDOW};
use domain::{Conversation, ConversationStatus, MessageTurn, OwnerId};
use ports::{Clock, ClosureVerdict, ConversationStore, FeatureStore, MessageStore, StoreError};

use crate::ServiceError;
use crate::closure::closure_record;
use crate::settings::tenant_settings;

/// How long a sweeper holds a due pending closure it claimed: another sweeper takes it only if
/// this one has not resolved it by then (it crashed, or lost the database).
pub const PENDING_CLOSURE_LEASE: Duration = Duration::seconds(60);

/// The most batches one [`LifecycleSweeper::run_once`] claims, so a run always ends.
pub const MAX_SWEEP_ROUNDS: usize = 100;

/// How many conversations one sweep closed, by final state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Closed as `expired`.
    pub expired: usize,
    /// Closed as `idle_timeout`.
    pub idle: usize,
    /// Pending closures confirmed: closed as `user_closed`.
    pub user_closed: usize,
    /// Pending closures dropped: the re-assessment no longer said the conversation ended, or
    /// the tenant switched detection off.
    pub kept_open: usize,
}

/// Closes due conversations of every tenant, in batches, and re-assesses due pending
/// closures. Several sweepers may run at once: the store claims rows with `SKIP LOCKED`, and a
/// pending closure is confirmed only while it still stands, so a conversation closes once.
#[derive(Clone)]
pub struct LifecycleSweeper {
    /// Conversations.
    pub conversations: Arc<dyn ConversationStore>,
    /// The conversations' latest turns, for the re-assessment.
    pub messages: Arc<dyn MessageStore>,
    /// Tenants' closure-detection settings.
    pub features: Arc<dyn FeatureStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Conversations claimed per batch (at least 1 is used).
    pub batch_size: u32,
}

impl std::fmt::Debug for LifecycleSweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifecycleSweeper").field("batch_size", &self.batch_size).finish_non_exhaustive()
    }
}

impl LifecycleSweeper {
    /// Claims and closes due conversations batch after batch while batches come back full,
    /// for at most [`MAX_SWEEP_ROUNDS`] batches.
    ///
    /// # Errors
    /// Storage errors; the batches closed before the error stay closed.
    #[tracing::instrument(skip_all)]
    pub async fn run_once(&self) -> Result<SweepReport, ServiceError> {
        let batch_size = self.batch_size.max(1);
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let mut settings = HashMap::new();
        for _ in 0..MAX_SWEEP_ROUNDS {
            let batch = self.conversations.sweep_due(now, batch_size, PENDING_CLOSURE_LEASE).await?;
            for conversation in &batch.closed {
                match conversation.status {
                    ConversationStatus::Expired => report.expired += 1,
                    ConversationStatus::IdleTimeout => report.idle += 1,
                    other => tracing::warn!(
                        conversation_id = %conversation.id,
                        status = %other,
                        "sweep returned a conversation in an unexpected state"
                    ),
                }
            }
            for conversation in &batch.closures_due {
                if self.resolve_pending_closure(conversation, &mut settings, now).await? {
                    report.user_closed += 1;
                } else {
                    report.kept_open += 1;
                }
            }
            if batch.claimed < batch_size as usize {
                break;
            }
        }
        if report != SweepReport::default() {
            tracing::info!(
                expired = report.expired,
                idle = report.idle,
                user_closed = report.user_closed,
                kept_open = report.kept_open,
                "conversations swept"
            );
        }
        Ok(report)
    }

    /// Re-assesses a due pending closure on the conversation's latest turns, now (so the
    /// silence since the goodbye counts), and closes the conversation as `user_closed` if the
    /// detector still says so; otherwise drops the pending closure. Returns whether it closed.
    /// A closure superseded meanwhile (a newer customer message, a close by someone else) is
    /// not an error: there is nothing left to do.
    #[tracing::instrument(skip_all, fields(owner_id = %conversation.owner_id, conversation_id = %conversation.id))]
    async fn resolve_pending_closure(
        &self,
        conversation: &Conversation,
        settings: &mut HashMap<OwnerId, Option<ClosureConfig>>,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let Some(pending) = &conversation.pending_closure else { return Ok(false) };
        let (owner_id, id) = (conversation.owner_id, conversation.id);
        let config = match settings.get(&owner_id) {
            Some(known) => known.clone(),
            None => {
                let config = tenant_settings(self.features.as_ref(), owner_id).await?.closure;
                settings.insert(owner_id, config.clone());
                config
            }
        };
        let assessment = match config {
            Some(config) => {
                let window = u32::try_from(config.window.clamp(1, MAX_WINDOW)).unwrap_or(1);
                let recent = self.messages.recent_turns(owner_id, id, window).await?;
                let turns: Vec<_> = recent.iter().map(MessageTurn::as_turn).collect();
                Some(ClosureDetector::new(config).assess(&turns, now))
            }
            None => None,
        };
        if let Some(assessment) = assessment.filter(|a| a.should_close) {
            let closed = self
                .conversations
                .close_detected(
                    owner_id,
                    id,
                    ClosureVerdict {
                        message_id: pending.message_id,
                        confirms_pending: true,
                        reason: assessment.reason.clone(),
                        assessment: closure_record(&assessment)?,
                    },
                    now,
                )
                .await;
            return match closed {
                Ok(_) => {
                    tracing::info!(
                        score = assessment.score,
                        "pending closure confirmed: conversation closed"
                    );
                    Ok(true)
                }
                Err(StoreError::ClosureSuperseded | StoreError::ConversationClosed(_)) => {
                    tracing::info!("pending closure superseded meanwhile");
                    Ok(false)
                }
                Err(other) => Err(other.into()),
            };
        }
        self.conversations.drop_pending_closure(owner_id, id, pending.message_id, now).await?;
        tracing::info!("pending closure dropped: the conversation no longer looks ended");
        Ok(false)
    }
}
