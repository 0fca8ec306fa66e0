//! Twilio's webhooks: inbound messages and delivery-status callbacks.
//!
//! The tenant is found from the webhook's Account SID ([`TwilioWebhookService::resolve_account`]);
//! the HTTP layer then checks the request's signature with the returned auth token, and only
//! then hands the request to [`TwilioWebhookService::handle_inbound`] or
//! [`TwilioWebhookService::apply_status`].

use std::sync::Arc;

use domain::AccountSid;
use ports::{Clock, ConversationStore, MessageStore, TwilioAccountStore, WebhookAccount};

use crate::ServiceError;

mod delivery;
mod inbound;

pub use delivery::DeliveryCallback;
pub use inbound::{CLOSURE_MODEL, InboundMessage, InboundOutcome};

/// The longest provider message id accepted (Twilio's are 34 characters).
pub const MAX_MESSAGE_SID_CHARS: usize = 64;

/// Use cases behind Twilio's webhooks. They act for the tenant owning the Twilio account, not
/// for a principal.
#[derive(Clone)]
pub struct TwilioWebhookService {
    /// Twilio accounts, to find the tenant of a webhook (and its settings).
    pub accounts: Arc<dyn TwilioAccountStore>,
    /// Conversations, to close one that closure detection decides has ended.
    pub conversations: Arc<dyn ConversationStore>,
    /// Messages.
    pub messages: Arc<dyn MessageStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TwilioWebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioWebhookService").finish_non_exhaustive()
    }
}

impl TwilioWebhookService {
    /// The active account with this Account SID, its auth token (for the signature check) and
    /// its tenant's features; `None` when no active account has it.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `AccountSid` when it is malformed; storage errors.
    #[tracing::instrument(skip_all, fields(account_sid = tracing::field::Empty))]
    pub async fn resolve_account(&self, account_sid: &str) -> Result<Option<WebhookAccount>, ServiceError> {
        let sid = AccountSid::parse(account_sid).map_err(|e| ServiceError::invalid("AccountSid", e))?;
        tracing::Span::current().record("account_sid", sid.as_str());
        let account = self.accounts.webhook_account(sid).await?;
        if account.is_none() {
            tracing::warn!("webhook for an unknown or inactive Twilio account");
        }
        Ok(account)
    }
}

/// Checks a provider message id: 1 to [`MAX_MESSAGE_SID_CHARS`] characters, no spaces.
fn message_sid(raw: &str) -> Result<String, ServiceError> {
    let sid = raw.trim();
    if sid.is_empty() || sid.chars().count() > MAX_MESSAGE_SID_CHARS || sid.chars().any(char::is_whitespace) {
        return Err(ServiceError::invalid(
            "MessageSid",
            format!("must be 1 to {MAX_MESSAGE_SID_CHARS} characters without spaces"),
        ));
    }
    Ok(sid.to_owned())
}
