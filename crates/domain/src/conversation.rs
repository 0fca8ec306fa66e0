//! Conversations and their lifecycle.
//!
//! ```text
//! pending ──first message──▶ progress
//!    │                          │
//!    └──────────┬───────────────┘
//!               ▼
//!   agent_closed | support_closed | user_closed | expired | idle_timeout | failed   (final)
//! ```
//!
//! Every transition is a method that checks the rules and returns the [`DomainEvent`] it
//! caused, so a publisher can later fan state changes out without the rules being restated.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::closure::outbound_keeps_pending_closure;
use crate::events::DomainEvent;
use crate::feature::LifecycleSettings;
use crate::{
    Channel, ConversationId, ConversationStatus, MessageDirection, MessageId, NewMessage, OwnerId,
    PendingClosure, PhoneNumber,
};

/// Why a lifecycle transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The conversation is in a final state: no messages, no extension, no second close.
    #[error("conversation is already closed ({0})")]
    Closed(ConversationStatus),
    /// `close` was asked for a state that is not final.
    #[error("`{0}` is not a closing status")]
    NotAClosingStatus(ConversationStatus),
    /// A closure was proposed or confirmed on a message that is no longer the customer's
    /// latest, or a pending closure was asked for that the conversation does not hold.
    #[error("the closure is based on a message that is no longer the customer's latest")]
    ClosureSuperseded,
    /// `extend` was asked for zero or negative time.
    #[error("an extension must be a positive number of seconds")]
    NonPositiveExtension,
    /// The conversation already lives as long as it may.
    #[error("conversation already reached its maximum lifetime")]
    LifetimeExhausted,
}

/// A conversation between a customer and one of a tenant's business numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The conversation's id.
    pub id: ConversationId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// SMS or WhatsApp.
    pub channel: Channel,
    /// The customer's number.
    pub customer_phone: PhoneNumber,
    /// The tenant's number.
    pub business_phone: PhoneNumber,
    /// Lifecycle state.
    pub status: ConversationStatus,
    /// Free-form context (for agents and AI), JSON.
    pub context: serde_json::Value,
    /// Free-form metadata, JSON.
    pub metadata: serde_json::Value,
    /// When it expires unless extended.
    pub expires_at: DateTime<Utc>,
    /// The tenant's idle timeout when the conversation was opened, in seconds.
    pub idle_timeout_seconds: u32,
    /// The most one extension may add, in seconds.
    pub max_extension_seconds: u32,
    /// The latest `expires_at` an extension may reach.
    pub max_expires_at: DateTime<Utc>,
    /// When the last message (either direction) was recorded.
    pub last_message_at: Option<DateTime<Utc>>,
    /// When the customer last wrote (opens WhatsApp's 24-hour window).
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The customer's latest message: the only one a closure may be based on.
    pub last_inbound_message_id: Option<MessageId>,
    /// Closure detection's verdict, waiting for the customer to finish (see [`PendingClosure`]).
    pub pending_closure: Option<PendingClosure>,
    /// Number of messages recorded.
    pub message_count: i64,
    /// When it reached a final state.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input to open a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct NewConversation {
    /// SMS or WhatsApp.
    pub channel: Channel,
    /// The customer's number.
    pub customer_phone: PhoneNumber,
    /// The tenant's number.
    pub business_phone: PhoneNumber,
    /// Initial context.
    pub context: serde_json::Value,
    /// Initial metadata.
    pub metadata: serde_json::Value,
}

/// How long WhatsApp lets a business send free-form messages after the customer's last one.
pub const WHATSAPP_SESSION_WINDOW: Duration = Duration::hours(24);

impl Conversation {
    /// A new `pending` conversation opened at `now` under the tenant's `settings`.
    #[must_use]
    pub fn open(
        owner_id: OwnerId,
        new: NewConversation,
        settings: &LifecycleSettings,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ConversationId::new_at(now),
            owner_id,
            channel: new.channel,
            customer_phone: new.customer_phone,
            business_phone: new.business_phone,
            status: ConversationStatus::Pending,
            context: new.context,
            metadata: new.metadata,
            expires_at: now + seconds(settings.ttl_seconds),
            idle_timeout_seconds: settings.idle_timeout_seconds,
            max_extension_seconds: settings.max_extension_seconds,
            max_expires_at: now + seconds(settings.max_lifetime_seconds),
            last_message_at: None,
            last_inbound_at: None,
            last_inbound_message_id: None,
            pending_closure: None,
            message_count: 0,
            closed_at: None,
            close_reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The event of having been opened.
    #[must_use]
    pub fn opened_event(&self) -> DomainEvent {
        DomainEvent::ConversationOpened {
            owner_id: self.owner_id,
            conversation_id: self.id,
            at: self.created_at,
        }
    }

    /// Records the message `id` exchanged at `at`: a `pending` conversation moves to
    /// `progress`. A customer's message ends a pending closure (it is assessed on its own); an
    /// agent's ends it when it asks, offers, promises or requests something
    /// ([`outbound_keeps_pending_closure`]).
    ///
    /// # Errors
    /// [`LifecycleError::Closed`] when the conversation is final.
    pub fn record_message(
        &mut self,
        id: MessageId,
        message: &NewMessage,
        at: DateTime<Utc>,
    ) -> Result<Option<DomainEvent>, LifecycleError> {
        self.ensure_active()?;
        self.last_message_at = Some(self.last_message_at.map_or(at, |last| last.max(at)));
        match message.direction {
            MessageDirection::Inbound => {
                self.last_inbound_at = Some(self.last_inbound_at.map_or(at, |last| last.max(at)));
                self.last_inbound_message_id = Some(id);
                self.pending_closure = None;
            }
            MessageDirection::Outbound => {
                let text = message.body.as_ref().map_or("", |body| body.as_str());
                if !outbound_keeps_pending_closure(text) {
                    self.pending_closure = None;
                }
            }
        }
        self.message_count += 1;
        self.updated_at = at;
        if self.status == ConversationStatus::Pending {
            self.status = ConversationStatus::Progress;
            return Ok(Some(DomainEvent::ConversationProgressed {
                owner_id: self.owner_id,
                conversation_id: self.id,
                at,
            }));
        }
        Ok(None)
    }

    /// Moves the conversation to the final state `status`.
    ///
    /// # Errors
    /// [`LifecycleError::NotAClosingStatus`] for `pending`/`progress`;
    /// [`LifecycleError::Closed`] when it is already final.
    pub fn close(
        &mut self,
        status: ConversationStatus,
        reason: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, LifecycleError> {
        if status.is_active() {
            return Err(LifecycleError::NotAClosingStatus(status));
        }
        self.ensure_active()?;
        let reason = reason.into();
        self.status = status;
        self.pending_closure = None;
        self.closed_at = Some(at);
        self.close_reason = Some(reason.clone());
        self.updated_at = at;
        Ok(DomainEvent::ConversationClosed {
            owner_id: self.owner_id,
            conversation_id: self.id,
            status,
            reason,
            at,
        })
    }

    /// Records closure detection's verdict on the customer's message `pending.message_id`, to be
    /// re-assessed at `pending.closes_at` (see [`PendingClosure`]).
    ///
    /// # Errors
    /// [`LifecycleError::Closed`] when the conversation is final;
    /// [`LifecycleError::ClosureSuperseded`] when the message is not the customer's latest.
    pub fn propose_closure(
        &mut self,
        pending: PendingClosure,
        at: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        self.ensure_active()?;
        if self.last_inbound_message_id != Some(pending.message_id) {
            return Err(LifecycleError::ClosureSuperseded);
        }
        self.pending_closure = Some(pending);
        self.updated_at = at;
        Ok(())
    }

    /// Closes the conversation as `user_closed` on closure detection's verdict about the
    /// customer's message `message_id`: only while that message is the customer's latest, and,
    /// when `pending` is set, only while the pending closure based on it still stands.
    ///
    /// # Errors
    /// [`LifecycleError::Closed`] when the conversation is final;
    /// [`LifecycleError::ClosureSuperseded`] when a newer customer message arrived or the
    /// pending closure was dropped.
    pub fn close_detected(
        &mut self,
        message_id: MessageId,
        pending: bool,
        reason: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Result<DomainEvent, LifecycleError> {
        self.ensure_active()?;
        let still_pending = self.pending_closure.as_ref().is_some_and(|p| p.message_id == message_id);
        if self.last_inbound_message_id != Some(message_id) || (pending && !still_pending) {
            return Err(LifecycleError::ClosureSuperseded);
        }
        self.close(ConversationStatus::UserClosed, reason, at)
    }

    /// Drops the pending closure based on `message_id`, if it is still the one held (the
    /// sweeper's re-assessment no longer says the conversation ended). Returns whether it did.
    pub fn drop_pending_closure(&mut self, message_id: MessageId, at: DateTime<Utc>) -> bool {
        if self.pending_closure.as_ref().is_some_and(|p| p.message_id == message_id) {
            self.pending_closure = None;
            self.updated_at = at;
            return true;
        }
        false
    }

    /// The pending closure, if the sweeper should re-assess it at `now`.
    #[must_use]
    pub fn due_pending_closure(&self, now: DateTime<Utc>) -> Option<&PendingClosure> {
        self.pending_closure.as_ref().filter(|p| self.status.is_active() && p.is_due(now))
    }

    /// When the sweeper should next look at the conversation: when it goes idle, or earlier when
    /// a pending closure is due.
    #[must_use]
    pub fn next_sweep_at(&self) -> DateTime<Utc> {
        let idle = self.idle_deadline();
        self.pending_closure.as_ref().map_or(idle, |p| p.closes_at.min(idle))
    }

    /// Moves `expires_at` forward by `by_seconds` (at most the conversation's
    /// `max_extension_seconds`), counting from now if it already passed, and never beyond
    /// `max_expires_at`. Returns the event carrying the new expiry.
    ///
    /// # Errors
    /// [`LifecycleError::Closed`], [`LifecycleError::NonPositiveExtension`], or
    /// [`LifecycleError::LifetimeExhausted`] when no time can be added.
    pub fn extend(&mut self, by_seconds: i64, now: DateTime<Utc>) -> Result<DomainEvent, LifecycleError> {
        self.ensure_active()?;
        if by_seconds <= 0 {
            return Err(LifecycleError::NonPositiveExtension);
        }
        let by = Duration::seconds(by_seconds.min(i64::from(self.max_extension_seconds)));
        let extended = (self.expires_at.max(now) + by).min(self.max_expires_at);
        if extended <= self.expires_at {
            return Err(LifecycleError::LifetimeExhausted);
        }
        self.expires_at = extended;
        self.updated_at = now;
        Ok(DomainEvent::ConversationExtended {
            owner_id: self.owner_id,
            conversation_id: self.id,
            expires_at: extended,
            at: now,
        })
    }

    /// Whether `expires_at` has passed.
    #[must_use]
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status.is_active() && self.expires_at <= now
    }

    /// When the conversation goes idle if nothing more is said.
    #[must_use]
    pub fn idle_deadline(&self) -> DateTime<Utc> {
        self.last_message_at.unwrap_or(self.created_at) + seconds(self.idle_timeout_seconds)
    }

    /// Whether the last message (or the opening, if none) is older than the idle timeout.
    #[must_use]
    pub fn is_idle(&self, now: DateTime<Utc>) -> bool {
        self.status.is_active() && self.idle_deadline() <= now
    }

    /// The final state a sweep at `now` should move the conversation to, if any. Expiry wins
    /// over idleness: it is the harder limit.
    #[must_use]
    pub fn due_closure(&self, now: DateTime<Utc>) -> Option<ConversationStatus> {
        if self.is_expired(now) {
            Some(ConversationStatus::Expired)
        } else if self.is_idle(now) {
            Some(ConversationStatus::IdleTimeout)
        } else {
            None
        }
    }

    /// Whether the business may send a free-form message now. SMS always; WhatsApp only within
    /// 24 hours of the customer's last message (outside it, only approved templates).
    #[must_use]
    pub fn free_form_allowed(&self, now: DateTime<Utc>) -> bool {
        match self.channel {
            Channel::Sms => true,
            Channel::Whatsapp => {
                self.last_inbound_at.is_some_and(|last| now - last < WHATSAPP_SESSION_WINDOW)
            }
        }
    }

    fn ensure_active(&self) -> Result<(), LifecycleError> {
        if self.status.is_terminal() {
            return Err(LifecycleError::Closed(self.status));
        }
        Ok(())
    }
}

fn seconds(value: u32) -> Duration {
    Duration::seconds(i64::from(value))
}

#[cfg(test)]
#[path = "conversation_tests.rs"]
mod tests;
