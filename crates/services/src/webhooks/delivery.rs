//! Twilio's delivery-status callbacks.

use chrono::{DateTime, Utc};
use domain::{DeliveryStatus, MessageId, MessageSid, OwnerId};
use ports::{DeliveryFailure, DeliveryUpdate, SpooledKind, StoreError};

use super::{Form, Receipt, SignedWebhook, TwilioWebhookService};
use crate::ServiceError;

/// What a status callback did.
pub type StatusOutcome = DeliveryUpdate;

/// A status callback, parsed (`MessageSid`, `MessageStatus`, `ErrorCode`, `ErrorMessage`, and
/// our message id from the URL).
pub(super) struct ParsedStatus {
    message_id: Option<MessageId>,
    message_sid: MessageSid,
    status: DeliveryStatus,
    failure: Option<DeliveryFailure>,
}

impl TwilioWebhookService {
    /// A status callback, from the request as Twilio sent it: verify it, parse it, and apply it
    /// to the tenant's message with that provider id, only ever moving its status forward. The
    /// callback URL the dispatcher gives Twilio names our message (`?message_id=`, covered by
    /// the signature, like the whole URL), so a callback that arrives before the provider id is
    /// stored still finds its message (and stores the id). A callback for an unknown message is
    /// answered [`DeliveryUpdate::UnknownSid`], not an error (Twilio must not retry it). When the
    /// database cannot take it, it is spooled, with the message id.
    ///
    /// # Errors
    /// [`ServiceError::InvalidSignature`]; [`ServiceError::Invalid`] naming `AccountSid`,
    /// `MessageSid`, `MessageStatus`, `ErrorCode` or `message_id`; [`ServiceError::Unavailable`].
    #[tracing::instrument(skip_all, fields(account_sid, owner_id, message_sid))]
    pub async fn receive_status(
        &self,
        webhook: SignedWebhook,
    ) -> Result<Receipt<StatusOutcome>, ServiceError> {
        let named = callback_message_id(&webhook.url).map(str::to_owned);
        let verified = self.verify(webhook).await?;
        // Read only once the signature held: an unsigned request learns nothing from it.
        let message_id = named
            .map(|raw| raw.parse::<MessageId>().map_err(|e| ServiceError::invalid("message_id", e)))
            .transpose()?;
        let parsed = parse_status(&verified.form, message_id)?;
        let owner_id = verified.account.credentials.account.owner_id;
        let now = self.clock.now();
        match self.apply_status(owner_id, parsed, now).await {
            Ok(update) => Ok(Receipt::Stored(update)),
            // Kept, as an inbound message is (see `receive_inbound`).
            Err(error @ (StoreError::Unavailable(_) | StoreError::Internal(_))) => {
                self.spool(SpooledKind::Status, verified, message_id, now, &error).await?;
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
            .apply_delivery_status(
                owner_id,
                parsed.message_id,
                parsed.message_sid.into(),
                status,
                parsed.failure,
                now,
            )
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

/// The `message_id` query parameter of a callback URL, as written (the dispatcher writes a
/// UUID, which needs no percent-encoding). A URL without it (a message sent before callbacks
/// named it) is applied by `MessageSid` alone.
fn callback_message_id(url: &str) -> Option<&str> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    query.split('&').find_map(|pair| pair.strip_prefix("message_id="))
}

/// Validates a callback's fields; `message_id` comes from its URL.
pub(super) fn parse_status(form: &Form, message_id: Option<MessageId>) -> Result<ParsedStatus, ServiceError> {
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
    Ok(ParsedStatus { message_id, message_sid, status, failure })
}

#[cfg(test)]
mod tests {
    use super::callback_message_id;

    #[test]
    fn the_message_id_is_read_from_the_query_only() {
        let id = "01938f2c-5a6b-7c8d-9e0f-112233445566";
        let url = format!("https://c.example/webhooks/twilio/status?message_id={id}");
        assert_eq!(callback_message_id(&url), Some(id));
        let among = format!("https://c.example/webhooks/twilio/status?x=1&message_id={id}#frag");
        assert_eq!(callback_message_id(&among), Some(id));
        assert_eq!(callback_message_id("https://c.example/webhooks/twilio/status"), None);
        assert_eq!(callback_message_id("https://c.example/webhooks/twilio/status?not_message_id=1"), None);
    }
}
