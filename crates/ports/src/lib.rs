//! # Conversa ports
//!
//! The traits through which the use cases (`services`) reach the outside world, shaped by use
//! case rather than by table: an operation that must be atomic is one method, so an adapter can
//! run it in one transaction. Every tenant-scoped method takes the tenant's [`OwnerId`] first;
//! an adapter MUST scope every query by it, and answer [`StoreError::NotFound`] for another
//! tenant's id exactly as for an unknown one.
//!
//! With the `mock` feature each trait also has a `mockall` mock (`MockConversationStore`, …)
//! for the use cases' unit tests.
//!
//! [`OwnerId`]: domain::OwnerId

#![warn(missing_docs)]

mod clock;
mod conversations;
mod error;
mod events;
mod gateway;
mod messages;
mod page;
mod send_queue;
mod spool;
mod tenants;
mod webhook_endpoints;
mod webhooks;

pub use clock::{ApiKeyIssuer, Clock, IssuedApiKey, Jitter, Pause};
pub use conversations::{ClosureVerdict, ConversationFilter, ConversationStore, DetectedClosure, SweepBatch};
pub use error::{ConflictKind, StoreError};
pub use events::{EventFilter, EventLog, EventPosition, StoredEvent};
pub use gateway::{ChannelCredentials, GatewayError, MessagingGateway, OutboundEnvelope, SendReceipt};
pub use messages::{
    AppendedMessage, DeliveryFailure, DeliveryUpdate, InboundStored, MessageStore, SendCounts,
};
pub use page::{Cursor, Page, PageRequest};
pub use send_queue::{ClaimedSend, Recorded, SendQueue, SendQueueDepth, Unsendable};
pub use spool::{SpoolError, SpoolSeq, SpoolStats, SpooledKind, SpooledWebhook, WebhookSpool};
pub use tenants::{
    FeatureStore, NewOwnerWithAdmin, OwnerCreated, TenantDirectory, TwilioAccountDeletion, TwilioAccountStore,
};
pub use webhook_endpoints::{
    AttemptRecord, AttemptRecorded, ClaimedDelivery, DeliveryNext, OutgoingWebhook, TargetRefused,
    WebhookDeliveryQueue, WebhookEndpointStore, WebhookQueueDepth, WebhookResponse, WebhookSender,
};
pub use webhooks::{WebhookAccount, WebhookAccounts, WebhookVerifier};

#[cfg(feature = "mock")]
pub use clock::{MockApiKeyIssuer, MockClock, MockJitter, MockPause};
#[cfg(feature = "mock")]
pub use conversations::MockConversationStore;
#[cfg(feature = "mock")]
pub use events::MockEventLog;
#[cfg(feature = "mock")]
pub use gateway::MockMessagingGateway;
#[cfg(feature = "mock")]
pub use messages::MockMessageStore;
#[cfg(feature = "mock")]
pub use send_queue::MockSendQueue;
#[cfg(feature = "mock")]
pub use spool::MockWebhookSpool;
#[cfg(feature = "mock")]
pub use tenants::{MockFeatureStore, MockTenantDirectory, MockTwilioAccountStore};
#[cfg(feature = "mock")]
pub use webhook_endpoints::{MockWebhookDeliveryQueue, MockWebhookEndpointStore, MockWebhookSender};
#[cfg(feature = "mock")]
pub use webhooks::{MockWebhookAccounts, MockWebhookVerifier};
