//! # Conversa's Twilio adapter
//!
//! - [`TwilioGateway`] implements the [`ports::MessagingGateway`] port over Twilio's Messages
//!   REST API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`), with each tenant's own
//!   credentials, and maps Twilio's answers to [`ports::GatewayError`]: rate limits, 5xx,
//!   timeouts and connection failures are retryable; other 4xx are permanent, with Twilio's code.
//! - [`signature`] validates the `X-Twilio-Signature` of Twilio's webhooks exactly as Twilio's
//!   official helper libraries do, and rebuilds the signed URL from the configured public base
//!   URL ([`signature::public_url`]).
//!
//! See `docs/adr/0001-twilio-client.md` for why this is a small reqwest client rather than a
//! Twilio SDK crate.

mod config;
mod gateway;
mod response;
pub mod signature;

pub use config::{DEFAULT_API_BASE_URL, TwilioConfig};
pub use gateway::{TwilioGateway, TwilioSetupError};
pub use signature::{
    SIGNATURE_HEADER, TwilioSignatureVerifier, compute_signature, public_url, validate, validate_json_body,
};
