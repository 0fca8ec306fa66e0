//! Twilio's message delivery statuses and the order in which they may advance.
//!
//! Twilio's status callbacks can arrive late, twice, or out of order (a `sent` after a
//! `delivered`). The status of a message therefore only ever moves forward:
//! `accepted`/`scheduled` < `queued` < `sending` < `sent` < `delivered` < `read`, with `failed`,
//! `undelivered` and `canceled` as terminal outcomes. Inbound messages are `received`.

use crate::enums::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// The delivery status of a message, as Twilio names it.
    DeliveryStatus, "delivery status" {
        /// Accepted by a messaging service, not yet queued.
        Accepted => "accepted",
        /// Scheduled for later sending.
        Scheduled => "scheduled",
        /// Queued (by us or by Twilio) for sending.
        Queued => "queued",
        /// Being sent to the carrier.
        Sending => "sending",
        /// Handed to the carrier.
        Sent => "sent",
        /// Confirmed delivered to the handset.
        Delivered => "delivered",
        /// Read by the recipient (WhatsApp).
        Read => "read",
        /// The carrier could not deliver it.
        Undelivered => "undelivered",
        /// Sending failed.
        Failed => "failed",
        /// A scheduled message was canceled.
        Canceled => "canceled",
        /// An inbound message being received.
        Receiving => "receiving",
        /// An inbound message received.
        Received => "received",
    }
);

impl DeliveryStatus {
    /// Position in the forward order; a status may only be replaced by one of higher rank.
    /// The failure outcomes share `delivered`'s rank: they are alternatives to it, so a late
    /// `failed` never overwrites a `delivered` and vice versa.
    #[must_use]
    pub const fn rank(self) -> u8 {
        match self {
            Self::Accepted | Self::Scheduled | Self::Receiving => 0,
            Self::Queued => 1,
            Self::Sending => 2,
            Self::Sent => 3,
            Self::Delivered | Self::Undelivered | Self::Failed | Self::Canceled | Self::Received => 4,
            Self::Read => 5,
        }
    }

    /// Whether no further status may follow.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Read | Self::Undelivered | Self::Failed | Self::Canceled | Self::Received)
    }

    /// Whether this status reports a failure to deliver.
    #[must_use]
    pub const fn is_failure(self) -> bool {
        matches!(self, Self::Undelivered | Self::Failed | Self::Canceled)
    }

    /// The status after a callback reporting `next`: `Some(next)` when it moves the message
    /// forward, `None` when it is late, repeated or would leave a terminal state.
    #[must_use]
    pub const fn advance(self, next: Self) -> Option<Self> {
        if self.is_terminal() || next.rank() <= self.rank() { None } else { Some(next) }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};

    #[test]
    fn moves_forward_along_the_happy_path() {
        assert_eq!(Queued.advance(Sending), Some(Sending));
        assert_eq!(Sending.advance(Sent), Some(Sent));
        assert_eq!(Sent.advance(Delivered), Some(Delivered));
        assert_eq!(Delivered.advance(Read), Some(Read));
        assert_eq!(Queued.advance(Delivered), Some(Delivered), "skipping steps is fine");
    }

    #[test]
    fn never_moves_back_or_repeats() {
        assert_eq!(Delivered.advance(Sent), None);
        assert_eq!(Sent.advance(Sent), None);
        assert_eq!(Read.advance(Delivered), None);
        assert_eq!(Delivered.advance(Failed), None, "a late failure does not undo delivery");
    }

    #[test]
    fn failures_are_terminal() {
        assert_eq!(Sent.advance(Undelivered), Some(Undelivered));
        assert_eq!(Undelivered.advance(Delivered), None);
        assert_eq!(Failed.advance(Read), None);
    }

    #[test]
    fn any_shuffle_of_callbacks_ends_in_the_same_state() {
        let callbacks = [Queued, Sending, Sent, Delivered, Read];
        let apply = |order: &[DeliveryStatus]| {
            order.iter().fold(Accepted, |current, next| current.advance(*next).unwrap_or(current))
        };
        let mut order = callbacks;
        for rotation in 0..callbacks.len() {
            order.rotate_left(rotation);
            assert_eq!(apply(&order), Read);
            order.reverse();
            assert_eq!(apply(&order), Read);
        }
    }
}
