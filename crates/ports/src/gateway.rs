use async_trait::async_trait;
use domain::{ChannelAddress, DeliveryStatus, MessageId, MessageTemplate, OwnerId, SecretString};

/// The credentials a channel's gateway authenticates with (for Twilio: Account SID and auth
/// token). Opaque to the use cases, so another channel can bring its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelCredentials {
    /// The provider account (Twilio's Account SID).
    pub account: String,
    /// Its secret.
    pub secret: SecretString,
    /// The sender pool to send through instead of the `from` number (Twilio's Messaging
    /// Service SID), when the account has one.
    pub sender_pool: Option<String>,
}

/// One message to hand to a messaging provider.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboundEnvelope {
    /// The tenant.
    pub owner_id: OwnerId,
    /// Our id of the message (for logs and status callbacks).
    pub message_id: MessageId,
    /// The tenant's number.
    pub from: ChannelAddress,
    /// The customer's number.
    pub to: ChannelAddress,
    /// Text.
    pub body: Option<String>,
    /// Attachment URLs.
    pub media_urls: Vec<String>,
    /// A WhatsApp template to send instead of a body and media.
    pub template: Option<MessageTemplate>,
    /// Credentials to send with.
    pub credentials: ChannelCredentials,
}

/// The provider accepted a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// The provider's id (Twilio's MessageSid).
    pub provider_sid: String,
    /// The status the provider reported (usually `queued` or `accepted`).
    pub status: DeliveryStatus,
}

/// Why a send failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Rate limits, provider 5xx, timeouts, connection failures.
    #[error("temporary failure: {reason}")]
    Retryable {
        /// What happened.
        reason: String,
    },
    /// The provider refused the message (invalid number, unsubscribed recipient, bad
    /// credentials…): sending it again would fail again.
    #[error("refused by the provider ({code:?}): {reason}")]
    Permanent {
        /// The provider's error code.
        code: Option<i32>,
        /// Its message.
        reason: String,
    },
}

impl GatewayError {
    /// Whether a later retry may succeed.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

/// A messaging channel's outbound side (Twilio today; Telegram or Instagram later implement
/// the same trait without the use cases changing).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MessagingGateway: Send + Sync {
    /// Hands one message to the provider.
    ///
    /// # Errors
    /// [`GatewayError::Retryable`] or [`GatewayError::Permanent`], as the provider's answer says.
    async fn send(&self, envelope: OutboundEnvelope) -> Result<SendReceipt, GatewayError>;
}
