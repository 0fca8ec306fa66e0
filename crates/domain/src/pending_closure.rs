//! A closure that waits for the customer to finish.
//!
//! Customers on SMS and WhatsApp split what they say over several short messages: "Obrigado!"
//! followed a second later by "Ah, e mais uma coisa…". So closure detection's verdict on an
//! inbound message does not close the conversation at once: it is recorded as a
//! [`PendingClosure`], due after the tenant's grace period. The lifecycle sweeper re-assesses the
//! conversation when it is due (the silence since the goodbye now counts) and closes it only if
//! the verdict still holds and the message it was based on is still the customer's latest.
//!
//! What ends a pending closure before it is due:
//! - any newer customer message (assessed on its own, which may propose a new one);
//! - an agent's message that asks, offers, promises or requests something (see
//!   [`outbound_keeps_pending_closure`](crate::closure::outbound_keeps_pending_closure));
//! - any close (an explicit close through the API wins over a pending one), expiry or idleness.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::MessageId;

/// Closure detection's verdict on a customer message, waiting until `closes_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingClosure {
    /// The inbound message the verdict is based on. The closure holds only while it is the
    /// conversation's latest customer message.
    pub message_id: MessageId,
    /// When the sweeper re-assesses and, if the verdict holds, closes the conversation.
    pub closes_at: DateTime<Utc>,
    /// The detector's score when the closure was proposed (projected to `closes_at`).
    pub score: f64,
    /// The detector's explanation.
    pub reason: String,
}

impl PendingClosure {
    /// Whether the sweeper should look at it at `now`.
    #[must_use]
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.closes_at <= now
    }
}
