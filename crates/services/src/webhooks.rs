//! Twilio's webhooks: inbound messages and delivery-status callbacks, each one use case from the
//! request as received to the stored result.
//!
//! Every webhook goes the same way: find the account its `AccountSid` names → verify the
//! signature with that account's token ([`WebhookVerifier`]) → parse the fields into domain
//! values → store. Nothing is stored, or spooled, before the signature and the fields pass. When
//! the database cannot take a verified, valid webhook, it is kept in the local [`WebhookSpool`]
//! and acknowledged; [`TwilioWebhookService::drain_spool`] replays it later. The auth token never
//! leaves this module.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use domain::{AccountSid, MessageId};
use ports::{
    Clock, ConversationStore, MessageStore, SpoolError, SpooledKind, SpooledWebhook, StoreError,
    WebhookAccount, WebhookAccounts, WebhookSpool, WebhookVerifier,
};

use crate::ServiceError;

mod delivery;
mod form;
mod inbound;
mod replay;

pub use delivery::StatusOutcome;
use form::Form;
pub use inbound::InboundOutcome;
pub use replay::DrainReport;

/// A webhook as it arrived, before anything in it is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedWebhook {
    /// The full public URL Twilio requested (the configured base URL, the path and query):
    /// the signature covers it.
    pub url: String,
    /// The `X-Twilio-Signature` header, if any.
    pub signature: Option<String>,
    /// The form fields, in order (repeated names kept).
    pub fields: Vec<(String, String)>,
}

/// What became of a verified, valid webhook.
#[derive(Clone, Debug, PartialEq)]
pub enum Receipt<T> {
    /// Stored in the database, with what storing it did.
    Stored(T),
    /// The database could not take it; it is in the local spool, to be replayed.
    Spooled,
}

/// Use cases behind Twilio's webhooks. They act for the tenant owning the Twilio account, not
/// for a principal.
#[derive(Clone)]
pub struct TwilioWebhookService {
    /// The accounts webhooks name (with their tokens and their tenants' settings).
    pub accounts: Arc<dyn WebhookAccounts>,
    /// Checks Twilio's signatures.
    pub verifier: Arc<dyn WebhookVerifier>,
    /// Conversations, to close one that closure detection decides has ended.
    pub conversations: Arc<dyn ConversationStore>,
    /// Messages.
    pub messages: Arc<dyn MessageStore>,
    /// Where webhooks wait while the database is unavailable.
    pub spool: Arc<dyn WebhookSpool>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TwilioWebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioWebhookService").finish_non_exhaustive()
    }
}

/// A webhook whose signature verified, with its account.
struct Verified {
    account: Arc<WebhookAccount>,
    account_sid: AccountSid,
    form: Form,
}

impl TwilioWebhookService {
    /// Finds the account the webhook names and checks its signature with the account's token.
    /// An unknown account gets the same answer as a bad signature: nothing to tell a prober.
    async fn verify(&self, webhook: SignedWebhook) -> Result<Verified, ServiceError> {
        let form = Form::new(webhook.fields);
        let account_sid = AccountSid::parse(form.required("AccountSid")?)
            .map_err(|e| ServiceError::invalid("AccountSid", e))?;
        tracing::Span::current().record("account_sid", account_sid.as_str());
        let signature = webhook
            .signature
            .ok_or(ServiceError::InvalidSignature("the X-Twilio-Signature header is missing"))?;
        let Some(account) = self.accounts.webhook_account(&account_sid).await? else {
            tracing::warn!("webhook for an unknown or inactive Twilio account");
            return Err(ServiceError::InvalidSignature("invalid signature"));
        };
        if !self.verifier.verify(&account.credentials.auth_token, &webhook.url, form.fields(), &signature) {
            tracing::warn!("webhook signature rejected");
            return Err(ServiceError::InvalidSignature("invalid signature"));
        }
        // Twilio never sends NUL; PostgreSQL cannot store it. Refused here, after the signature
        // (which covers the raw fields), so it is never stored, spooled or retried.
        if let Some((name, _)) = form.fields().iter().find(|(_, value)| value.contains('\0')) {
            return Err(ServiceError::invalid(
                "form",
                format!("`{name}` contains the NUL character (U+0000)"),
            ));
        }
        Ok(Verified { account, account_sid, form })
    }

    /// Keeps a verified, valid webhook the database could not take, as received at
    /// `received_at` (the time the store was asked to use: its replay stores it as of then).
    /// `message_id` is a status callback's, from its signed URL (the fields do not carry it).
    async fn spool(
        &self,
        kind: SpooledKind,
        verified: Verified,
        message_id: Option<MessageId>,
        received_at: DateTime<Utc>,
        store_error: &StoreError,
    ) -> Result<(), ServiceError> {
        let entry = SpooledWebhook {
            kind,
            account_sid: verified.account_sid.into(),
            fields: verified.form.into_fields(),
            received_at,
            message_id,
        };
        match self.spool.push(entry).await {
            Ok(seq) => {
                tracing::warn!(error = %store_error, seq = seq.0, "database unavailable; webhook spooled");
                Ok(())
            }
            Err(SpoolError::Full) => {
                tracing::error!(error = %store_error, "database unavailable and the webhook spool is full");
                Err(ServiceError::Unavailable(
                    "the database is unavailable and the webhook spool is full".into(),
                ))
            }
            Err(SpoolError::Storage(why)) => {
                tracing::error!(error = %store_error, spool_error = %why, "database unavailable and the spool failed");
                Err(ServiceError::Unavailable(format!(
                    "the database is unavailable and the spool failed: {why}"
                )))
            }
        }
    }
}
