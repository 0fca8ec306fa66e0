//! # Conversa domain
//!
//! The pure heart of Conversa, a multi-tenant conversation backend for SMS and WhatsApp:
//! entities, the conversation lifecycle, delivery-status rules and closure detection.
//!
//! This crate does no I/O and reads no clock: every time it needs is passed in. Other Rust
//! services can depend on it as a library, for example to run the closure detector on their
//! own conversations:
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use domain::closure::{ClosureConfig, ClosureDetector, Speaker, Turn};
//!
//! let detector = ClosureDetector::new(ClosureConfig::default());
//! let start = Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap();
//! let turns = [
//!     Turn::new(Speaker::Customer, "Meu pedido chegou, tudo certo", start),
//!     Turn::new(Speaker::Business, "Que ótimo! Posso ajudar em algo mais?", start + Duration::seconds(30)),
//!     Turn::new(Speaker::Customer, "Não, obrigado! Tchau 👋", start + Duration::seconds(60)),
//! ];
//! let assessment = detector.assess(&turns, start + Duration::minutes(2));
//! assert!(assessment.should_close, "{assessment:?}");
//! assert!(assessment.score >= 0.0 && assessment.score <= 1.0);
//! ```

#![warn(missing_docs)]

pub mod ai_result;
pub mod body;
pub mod closure;
pub mod conversation;
pub mod delivery;
pub mod enums;
pub mod events;
pub mod feature;
pub mod ids;
pub mod limits;
pub mod message;
pub mod message_sid;
pub mod pending_closure;
pub mod phone;
pub mod secret;
pub mod send;
mod sid;
pub mod template;
pub mod tenant;
pub mod twilio_account;
pub mod webhook;

pub use ai_result::{AiResult, AiResultInputError, CLOSURE_DETECTION_KIND, NewAiResult};
pub use body::{MessageBody, MessageBodyError};
pub use conversation::{Conversation, LifecycleError, NewConversation};
pub use delivery::DeliveryStatus;
pub use enums::{
    Channel, ConversationStatus, MessageDirection, MessageOwner, MessageType, UnknownVariant, UserRole,
};
pub use events::{DomainEvent, EventType, PublishedEvent, UnknownEventType};
pub use feature::{
    Feature, FeatureError, FeatureName, FeatureUpdate, LifecycleSettings, MAX_FEATURE_CONFIG_BYTES,
    MAX_FEATURE_CONFIG_DEPTH, MAX_FEATURES_PER_TENANT, TenantSettings,
};
pub use ids::{
    AiResultId, ApiKeyId, ConversationId, EventId, FeatureId, MessageId, OwnerId, SendJobId, TwilioAccountId,
    UserId, WebhookDeliveryId, WebhookEndpointId,
};
pub use limits::{LimitsError, LimitsOverride, QuotaPeriod, RateLimit, SendQuota, TenantLimits};
pub use message::{Media, Message, MessageInputError, MessageTurn, NewMessage};
pub use message_sid::{InvalidMessageSid, MessageSid};
pub use pending_closure::PendingClosure;
pub use phone::{ChannelAddress, PhoneNumber, PhoneNumberError};
pub use secret::SecretString;
pub use send::{RetryDecision, RetryPolicy, SendJob, SendLease};
pub use template::{ContentSid, MessageTemplate, TemplateError};
pub use tenant::{ApiKey, Email, NewApiKey, NewOwner, NewUser, Owner, Principal, TenantInputError, User};
pub use twilio_account::{
    AccountSid, MessagingServiceSid, NewTwilioAccount, NewTwilioAccountError, TwilioAccount,
    TwilioAccountChanges, TwilioAccountError, TwilioCredentials,
};
pub use webhook::{
    AttemptOutcome, MAX_WEBHOOK_URL_LEN, NewWebhookEndpoint, WebhookAttempt, WebhookDelivery,
    WebhookDeliveryState, WebhookEndpoint, WebhookEndpointChanges, WebhookRetryPolicy, WebhookUrl,
    WebhookUrlError,
};
