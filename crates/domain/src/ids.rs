//! Typed identifiers: one newtype per entity, so an owner id can never be passed where a
//! conversation id is expected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new UUID v7 id whose time prefix is `at`, so ids sort by creation time.
            ///
            /// The time is passed in (from the clock port) rather than read here, which keeps
            /// the domain free of hidden clock reads.
            #[must_use]
            pub fn new_at(at: DateTime<Utc>) -> Self {
                Self(new_v7(at))
            }

            /// Wraps an existing UUID (for example one read from the database).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

fn new_v7(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

typed_id!(
    /// Identifies a tenant.
    OwnerId
);
typed_id!(
    /// Identifies a user of a tenant.
    UserId
);
typed_id!(
    /// Identifies an API key.
    ApiKeyId
);
typed_id!(
    /// Identifies a tenant's feature.
    FeatureId
);
typed_id!(
    /// Identifies a tenant's Twilio account.
    TwilioAccountId
);
typed_id!(
    /// Identifies a conversation.
    ConversationId
);
typed_id!(
    /// Identifies a message.
    MessageId
);
typed_id!(
    /// Identifies an AI result attached to a message.
    AiResultId
);
typed_id!(
    /// Identifies a job of the outbound send queue.
    SendJobId
);
typed_id!(
    /// Identifies a tenant's webhook endpoint.
    WebhookEndpointId
);
typed_id!(
    /// Identifies the delivery of one event to one webhook endpoint (its attempts share it).
    WebhookDeliveryId
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_are_version_7_and_sort_by_time() {
        let earlier = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let later = earlier + chrono::Duration::milliseconds(5);
        let a = ConversationId::new_at(earlier);
        let b = ConversationId::new_at(later);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn ids_round_trip_through_strings() {
        let id = MessageId::new_at(Utc::now());
        let parsed: MessageId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }
}
typed_id!(
    /// Identifies a published event (the outbox's id: the webhook-id and the SSE id).
    EventId
);
