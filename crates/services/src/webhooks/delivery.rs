//! Twilio's delivery-status callbacks.

use domain::{DeliveryStatus, TwilioAccount};
use ports::{DeliveryFailure, DeliveryUpdate};

use super::{TwilioWebhookService, message_sid};
use crate::ServiceError;

/// A status callback as Twilio posts it (`MessageSid`, `MessageStatus`, `ErrorCode`,
/// `ErrorMessage`), after the signature check.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeliveryCallback {
    /// Twilio's id of the message.
    pub message_sid: String,
    /// The new status, as Twilio spells it (`sent`, `delivered`, …).
    pub status: String,
    /// Twilio's error code, for a failure.
    pub error_code: Option<i32>,
    /// Its description.
    pub error_message: Option<String>,
}

impl TwilioWebhookService {
    /// Applies a status callback to the tenant's message with that provider id, only ever
    /// moving its status forward. A callback for an unknown message is answered
    /// [`DeliveryUpdate::UnknownSid`], not an error (Twilio must not retry it).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `MessageSid` or `MessageStatus`; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %account.owner_id, message_sid = tracing::field::Empty))]
    pub async fn apply_status(
        &self,
        account: &TwilioAccount,
        callback: DeliveryCallback,
    ) -> Result<DeliveryUpdate, ServiceError> {
        let sid = message_sid(&callback.message_sid)?;
        tracing::Span::current().record("message_sid", sid.as_str());
        let status: DeliveryStatus =
            callback.status.trim().parse().map_err(|e| ServiceError::invalid("MessageStatus", e))?;
        let failure = (status.is_failure() || callback.error_code.is_some())
            .then_some(DeliveryFailure { code: callback.error_code, message: callback.error_message });
        let now = self.clock.now();
        let update = self.messages.apply_delivery_status(account.owner_id, sid, status, failure, now).await?;
        match &update {
            DeliveryUpdate::Advanced(message) => {
                tracing::info!(message_id = %message.id, %status, "delivery status advanced")
            }
            DeliveryUpdate::Unchanged(message) => {
                tracing::debug!(message_id = %message.id, %status, "late or repeated delivery status ignored");
            }
            DeliveryUpdate::UnknownSid => tracing::warn!(%status, "delivery status for an unknown message"),
        }
        Ok(update)
    }
}
