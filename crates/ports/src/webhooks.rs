//! Webhooks: the account a webhook names, and checking that it comes from the provider.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{AccountSid, SecretString, TenantSettings, TwilioCredentials};

use crate::StoreError;

/// What a webhook needs to know about the tenant whose Twilio account it names.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookAccount {
    /// The account and its auth token (the signature's key).
    pub credentials: TwilioCredentials,
    /// The tenant's settings, resolved from its features.
    pub settings: TenantSettings,
}

/// The accounts webhooks name. Every webhook starts here, so an implementation may cache; one
/// that does MUST NOT answer from its cache for longer than its documented freshness while the
/// store answers, and MAY answer from it when the store is unavailable (a webhook can then still
/// be verified and kept).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookAccounts: Send + Sync {
    /// The active account with this Account SID (of an active tenant), its token and its
    /// tenant's settings, before any tenant is known; `None` when there is none.
    ///
    /// # Errors
    /// MUST return [`StoreError::Unavailable`] when the store cannot answer and nothing cached
    /// can; [`StoreError::Corrupt`] when the token cannot be decrypted.
    async fn webhook_account(
        &self,
        account_sid: &AccountSid,
    ) -> Result<Option<Arc<WebhookAccount>>, StoreError>;
}

/// Verifies a provider's webhook signature. Pure computation (no I/O), so it is a plain trait;
/// it is a port so the use case decides *when* to verify (before anything is stored) while the
/// provider's algorithm stays in its adapter.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait WebhookVerifier: Send + Sync {
    /// Whether `signature` is the provider's signature, keyed by the account's `auth_token`, of
    /// a form-encoded webhook with the fields `params` (in any order, repeated names allowed)
    /// sent to the full public `url` (query string included). Compares in constant time.
    fn verify(
        &self,
        auth_token: &SecretString,
        url: &str,
        params: &[(String, String)],
        signature: &str,
    ) -> bool;
}
