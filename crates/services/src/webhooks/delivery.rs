//! Twilio's delivery-status callbacks.

use chrono::{DateTime, Utc};
use domain::{DeliveryStatus, MessageSid, OwnerId};
use ports::{DeliveryFailure, DeliveryUpdate, SpooledKind, StoreError};

use super::{Form, Receipt, SignedWebhook, TwilioWebhookService};
use crate::ServiceError;

/// What a status callback did.
pub type StatusOutcome = DeliveryUpdate;

/// A status callback, parsed (`MessageSid`, `MessageStatus`, `ErrorCode`, `ErrorMessage`).
pub(super) struct ParsedStatus {
    message_sid: MessageSid,
    status: DeliveryStatus,
    failure: Option<DeliveryFailure>,
}

impl TwilioWebhookService {
    /// A status callback, from the request as Twilio sent it: verify it, parse it, and apply it
    /// to the tenant's message with that provider id, only ever moving its status forward. A
    /// callback for an unknown message is answered [`DeliveryUpdate::UnknownSid`], not an error
    /// (Twilio must not retry it). When the database cannot take it, it is spooled.
    ///
    /// # Errors
    /// [`ServiceError::InvalidSignature`]; [`ServiceError::Invalid`] naming `AccountSid`,
    /// `MessageSid`, `MessageStatus` or `ErrorCode`; [`ServiceError::Unavailable`].
    #[tracing::instrument(skip_all, fields(account_sid, owner_id, message_sid))]
    pub async fn receive_status(
        &self,
        webhook: SignedWebhook,
    ) -> Result<Receipt<StatusOutcome>, ServiceError> {
        let verified = self.verify(webhook).await?;
        let parsed = parse_status(&verified.form)?;
        let owner_id = verified.account.credentials.account.owner_id;
        let now = self.clock.now();
        match self.apply_status(owner_id, parsed, now).await {
            Ok(update) => Ok(Receipt::Stored(update)),
            // Kept, as an inbound message is (see `receive_inbound`).
            Err(error @ (StoreError::Unavailable(_) | StoreError::Internal(_))) => {
                self.spool(SpooledKind::Status, verified, now, &error).await?;
                Ok(Receipt::Spooled)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Applies a parsed callback as of `now`.
    pub(super) async fn apply_status(
        &self,
        owner_id: OwnerId,
        parsed: ParsedStatus,
        now: DateTime<Utc>,
    ) -> Result<DeliveryUpdate, StoreError> {
        let span = tracing::Span::current();
        span.record("owner_id", tracing::field::display(owner_id));
        span.record("message_sid", parsed.message_sid.as_str());
        let status = parsed.status;
        let update = self
            .messages
            .apply_delivery_status(owner_id, parsed.message_sid.into(), status, parsed.failure, now)
            .await?;
        match &update {
            DeliveryUpdate::Advanced(message) => {
                tracing::info!(message_id = %message.id, %status, "delivery status advanced");
            }
            DeliveryUpdate::Unchanged(message) => {
                tracing::debug!(message_id = %message.id, %status, "late or repeated delivery status ignored");
            }
            DeliveryUpdate::UnknownSid => tracing::warn!(%status, "delivery status for an unknown message"),
        }
        Ok(update)
    }
}

/// Validates a callback's fields.
pub(super) fn parse_status(form: &Form) -> Result<ParsedStatus, ServiceError> {
    let sid = form
        .non_empty("MessageSid")
        .or_else(|| form.non_empty("SmsSid"))
        .ok_or_else(|| ServiceError::invalid("MessageSid", "is required"))?;
    let message_sid = MessageSid::parse(sid).map_err(|e| ServiceError::invalid("MessageSid", e))?;
    let status = form
        .non_empty("MessageStatus")
        .or_else(|| form.non_empty("SmsStatus"))
        .ok_or_else(|| ServiceError::invalid("MessageStatus", "is required"))?;
    let status: DeliveryStatus =
        status.trim().parse().map_err(|e| ServiceError::invalid("MessageStatus", e))?;
    let error_code = form.number("ErrorCode")?;
    let failure = (status.is_failure() || error_code.is_some())
        .then(|| DeliveryFailure { code: error_code, message: form.owned("ErrorMessage") });
    Ok(ParsedStatus { message_sid, status, failure })
}
