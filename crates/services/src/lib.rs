//! # Conversa use cases
//!
//! The application layer of Conversa: each use case checks who may do it, validates its input
//! into domain values, and orchestrates the ports. It depends on `domain` and `ports` only, so
//! the HTTP layer, the CLI and the background workers call the same code.
//!
//! - [`ConversationService`]: open, read, list, close and extend conversations.
//! - [`MessageService`]: write to customers (queued for sending), read messages, AI results.
//! - [`TwilioWebhookService`]: inbound messages (with closure detection) and delivery statuses.
//! - [`LifecycleSweeper`]: closes expired and idle conversations, and confirms or drops
//!   pending closures.
//! - [`OutboundDispatcher`]: sends queued messages, retrying temporary failures.
//! - [`EventService`]: the tenant's event stream (the outbox the store writes with each change).
//! - [`TenantService`], [`FeatureService`], [`TwilioAccountService`]: tenant administration
//!   and API-key authentication.
//! - [`WebhookEndpointService`]: the tenant's webhook endpoints and their deliveries;
//!   [`WebhookDeliveryWorker`]: fans the outbox out to them and delivers (Standard Webhooks).
//!
//! Every tenant use case takes the caller's [`Principal`](domain::Principal) and acts only on
//! its tenant. Failures are one [`ServiceError`], whose variants map to HTTP statuses.

#![warn(missing_docs)]

mod authz;
mod closure;
mod conversations;
mod dispatch;
mod error;
mod events;
mod features;
mod input;
mod limits;
mod messages;
mod settings;
mod sweep;
mod tenants;
mod twilio_accounts;
mod webhook_delivery;
mod webhook_endpoints;
mod webhooks;

pub use authz::require;
pub use closure::CLOSURE_MODEL;
pub use conversations::{
    ConversationService, CreateConversation, MAX_CLOSE_REASON_CHARS, OpenedConversation,
};
pub use dispatch::{DispatchReport, OutboundDispatcher};
pub use error::ServiceError;
pub use events::{EventRetention, EventService, OpenedStream, StreamRequest};
pub use features::{FeatureService, PutFeature};
pub use limits::{LimitService, Usage};
pub use messages::{AddMessage, MessageService, TemplateInput};
pub use sweep::{LifecycleSweeper, MAX_SWEEP_ROUNDS, PENDING_CLOSURE_LEASE, SweepReport};
pub use tenants::{
    CreateApiKey, CreateUser, FIRST_KEY_NAME, MAX_API_KEY_LEN, NewOwnerRequest, TenantService,
};
pub use twilio_accounts::{
    CreateTwilioAccount, MAX_FRIENDLY_NAME_CHARS, TwilioAccountRemoval, TwilioAccountService,
    UpdateTwilioAccount,
};
pub use webhook_delivery::{AttemptReport, WebhookDeliveryWorker};
pub use webhook_endpoints::{
    CreateWebhookEndpoint, EndpointWithSecret, MAX_WEBHOOK_DESCRIPTION_CHARS, SECRET_ROTATION_OVERLAP,
    UpdateWebhookEndpoint, WebhookEndpointService,
};
pub use webhooks::{
    DrainReport, InboundOutcome, Receipt, SignedWebhook, StatusOutcome, TwilioWebhookService,
};
