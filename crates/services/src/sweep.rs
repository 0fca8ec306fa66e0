//! The lifecycle sweeper: closes conversations that expired or went idle.

use std::sync::Arc;

use domain::ConversationStatus;
use ports::{Clock, ConversationStore};

use crate::ServiceError;

/// The most batches one [`LifecycleSweeper::run_once`] claims, so a run always ends.
pub const MAX_SWEEP_ROUNDS: usize = 100;

/// How many conversations one sweep closed, by final state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Closed as `expired`.
    pub expired: usize,
    /// Closed as `idle_timeout`.
    pub idle: usize,
}

/// Closes due conversations of every tenant, in batches. Several sweepers may run at once:
/// the store claims rows with `SKIP LOCKED`.
#[derive(Clone)]
pub struct LifecycleSweeper {
    /// Conversations.
    pub conversations: Arc<dyn ConversationStore>,
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
        for _ in 0..MAX_SWEEP_ROUNDS {
            let closed = self.conversations.sweep_due(now, batch_size).await?;
            for conversation in &closed {
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
            if closed.len() < batch_size as usize {
                break;
            }
        }
        if report != SweepReport::default() {
            tracing::info!(expired = report.expired, idle = report.idle, "conversations swept");
        }
        Ok(report)
    }
}
