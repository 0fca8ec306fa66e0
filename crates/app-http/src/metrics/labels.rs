//! The closed sets of label values. Every labelled family but the request histogram takes its
//! one label from an enum here, so no input can add a series, and a counter can export every
//! value from the start (at 0).

use std::fmt::Debug;
use std::hash::Hash;

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The values one label may take.
pub trait LabelValues: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// The label's name.
    const KEY: &'static str;
    /// Every value, in the order they are exported.
    const ALL: &'static [Self];
    /// The value as exported.
    fn as_str(self) -> &'static str;
}

/// A one-label set holding a value of `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label<T>(pub T);

impl<T: LabelValues> EncodeLabelSet for Label<T> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        [(T::KEY, self.0.as_str())].encode(encoder)
    }
}

/// A counter per value of `T`.
#[derive(Clone, Debug)]
pub struct LabeledCounter<T: LabelValues>(Family<Label<T>, Counter>);

impl<T: LabelValues> LabeledCounter<T> {
    /// Registers the counter (OpenMetrics adds `_total` to `name`) with every value at 0.
    pub fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        let family = Family::<Label<T>, Counter>::default();
        for value in T::ALL {
            // Creating the series is the point; the guard it returns is not needed.
            let _ = family.get_or_create(&Label(*value));
        }
        registry.register(name, help, family.clone());
        Self(family)
    }

    /// Adds `count` to `value`'s series.
    pub fn add(&self, value: T, count: usize) {
        if count > 0 {
            self.0.get_or_create(&Label(value)).inc_by(u64::try_from(count).unwrap_or(u64::MAX));
        }
    }

    /// Adds one to `value`'s series.
    pub fn inc(&self, value: T) {
        self.add(value, 1);
    }
}

/// Declares a label's values: the enum, its exported strings, and [`LabelValues`].
macro_rules! label_values {
    (
        $(#[$meta:meta])* $name:ident, key = $key:literal {
            $($(#[$vmeta:meta])* $variant:ident => $value:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl LabelValues for $name {
            const KEY: &'static str = $key;
            const ALL: &'static [Self] = &[$(Self::$variant,)+];

            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }
    };
}

label_values! {
    /// What became of an inbound-message webhook.
    InboundWebhook, key = "outcome" {
        /// The message was stored.
        Stored => "stored",
        /// Twilio delivered a MessageSid already stored; nothing was written.
        Duplicate => "duplicate",
        /// The database could not take it; kept in the local spool and acknowledged.
        Spooled => "spooled",
        /// Refused with a 4xx: bad signature, unknown account, invalid or missing fields.
        Rejected => "rejected",
        /// Failed with a 5xx (neither the database nor the spool could take it); Twilio does
        /// not retry an SMS webhook, so this message is lost unless a fallback URL is set.
        Failed => "failed",
    }
}

label_values! {
    /// What became of a delivery-status callback.
    StatusCallback, key = "outcome" {
        /// The message's delivery status moved forward.
        Advanced => "advanced",
        /// A late or repeated status: nothing changed.
        Unchanged => "unchanged",
        /// No stored message has the callback's MessageSid.
        UnknownSid => "unknown_sid",
        /// The database could not take it; kept in the local spool.
        Spooled => "spooled",
        /// Refused with a 4xx.
        Rejected => "rejected",
        /// Failed with a 5xx.
        Failed => "failed",
    }
}

label_values! {
    /// What closure detection decided about an inbound message's conversation.
    ClosureDetection, key = "result" {
        /// The conversation ended and was closed (a grace period of 0).
        Closed => "closed",
        /// The conversation looks ended: it got a pending closure, for the sweeper to confirm.
        Pending => "pending",
        /// The conversation goes on.
        KeptOpen => "kept_open",
    }
}

label_values! {
    /// What the dispatcher did with a claimed send job.
    SendOutcome, key = "outcome" {
        /// The provider accepted the message.
        Sent => "sent",
        /// A temporary failure: scheduled again with backoff.
        Retried => "retried",
        /// Failed for good; the message is `failed`.
        Failed => "failed",
        /// The outcome could not be stored; the job is claimed again when its lease ends.
        Unrecorded => "unrecorded",
        /// Accepted under an earlier claim (its provider id was on the message): finished
        /// without sending again.
        AlreadyAccepted => "already_accepted",
        /// The claim no longer held the job when it came to record (or send) it.
        LeaseLost => "lease_lost",
    }
}

label_values! {
    /// Why the sweeper closed a conversation.
    SweepReason, key = "reason" {
        /// Past its expiry time.
        Expired => "expired",
        /// Nobody wrote for longer than the idle timeout.
        IdleTimeout => "idle_timeout",
        /// A pending closure the re-assessment confirmed (closed as `user_closed`).
        UserClosed => "user_closed",
    }
}

label_values! {
    /// What the sweeper's re-assessment did with a due pending closure.
    PendingClosureOutcome, key = "outcome" {
        /// Confirmed: the conversation was closed as `user_closed`.
        Confirmed => "confirmed",
        /// Dropped: the conversation no longer looked ended, or a newer message came first.
        Dropped => "dropped",
    }
}

label_values! {
    /// A background worker.
    Worker, key = "worker" {
        /// The lifecycle sweeper.
        Sweeper => "sweeper",
        /// The outbound dispatcher.
        Dispatcher => "dispatcher",
        /// The webhook spool's drainer (a failed round: the spool itself could not be read).
        SpoolDrainer => "spool_drainer",
        /// The pruning of events past their retention.
        EventRetention => "event_retention",
        /// The delivery of events to tenants' webhook endpoints.
        WebhookDelivery => "webhook_delivery",
    }
}

label_values! {
    /// What came of one attempt to deliver an event to a tenant's webhook endpoint.
    WebhookAttemptOutcome, key = "outcome" {
        /// A 2xx answer in time.
        Success => "success",
        /// An answer outside 2xx (redirects included).
        HttpError => "http_error",
        /// No answer: refused address, connection failure, timeout.
        TransportError => "transport_error",
        /// The claim had lapsed before the outcome was recorded (the delivery is tried again).
        LeaseLost => "lease_lost",
        /// The outcome could not be recorded (the delivery is tried again once its lease lapses).
        Unrecorded => "unrecorded",
    }
}

label_values! {
    /// Deliveries waiting in the webhook queue.
    WebhookQueueState, key = "state" {
        /// Due now.
        Due => "due",
        /// Waiting for a later retry.
        Scheduled => "scheduled",
    }
}

label_values! {
    /// Whether an open database connection is held.
    PoolState, key = "state" {
        /// Held by a request or a worker.
        InUse => "in_use",
        /// Open, held by nobody.
        Idle => "idle",
    }
}

label_values! {
    /// Where a send job stands.
    QueueState, key = "state" {
        /// Due and not leased: waiting for a worker.
        Due => "due",
        /// Not due: leased to a worker, or waiting for a retry.
        Deferred => "deferred",
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode_registry;

    use super::*;

    #[test]
    fn every_value_is_exported_from_the_start_and_counts_add_up() {
        let mut registry = Registry::default();
        let counter = LabeledCounter::<SweepReason>::register(&mut registry, "closures", "Closures");
        counter.add(SweepReason::IdleTimeout, 2);
        counter.inc(SweepReason::IdleTimeout);
        counter.add(SweepReason::Expired, 0);
        let mut text = String::new();
        encode_registry(&mut text, &registry).unwrap();
        assert!(text.contains("closures_total{reason=\"expired\"} 0\n"), "{text}");
        assert!(text.contains("closures_total{reason=\"idle_timeout\"} 3\n"), "{text}");
    }
}

label_values! {
    /// What the spool drainer did with a spooled webhook.
    SpoolReplay, key = "outcome" {
        /// Stored in the database (or found already there) and removed from the spool.
        Replayed => "replayed",
        /// Can never be stored (its account is gone, its fields no longer fit): moved to the
        /// spool's dead letters.
        Failed => "failed",
    }
}
