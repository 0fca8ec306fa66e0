//! Tenants' Twilio accounts.

use std::sync::Arc;

use domain::{
    NewTwilioAccount, NewTwilioAccountError, Principal, SecretString, TwilioAccount, TwilioAccountError,
    TwilioAccountId, UserRole,
};
use ports::{Clock, TwilioAccountStore};

use crate::input::bounded_text;
use crate::{ServiceError, authz::require};

/// The longest friendly name accepted, in characters.
pub const MAX_FRIENDLY_NAME_CHARS: usize = 200;

/// Input to register a Twilio account.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateTwilioAccount {
    /// Twilio's Account SID (`AC` and 32 hex digits).
    pub account_sid: String,
    /// The account's auth token (32 hex digits).
    pub auth_token: SecretString,
    /// A label; blank counts as none.
    pub friendly_name: Option<String>,
    /// The numbers the tenant receives on and sends from, `+…` or `whatsapp:+…`.
    pub phone_numbers: Vec<String>,
}

/// Twilio account use cases of a tenant.
#[derive(Clone)]
pub struct TwilioAccountService {
    /// Twilio accounts.
    pub accounts: Arc<dyn TwilioAccountStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TwilioAccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioAccountService").finish_non_exhaustive()
    }
}

impl TwilioAccountService {
    /// Registers a Twilio account for the tenant. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `account_sid`,
    /// `auth_token`, `friendly_name` or `phone_numbers`; [`ServiceError::Conflict`]
    /// (`AccountSidTaken`) when the Account SID is already registered, (`NumberTaken`) when a
    /// number is already another of the tenant's accounts'; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn create(
        &self,
        principal: &Principal,
        input: CreateTwilioAccount,
    ) -> Result<TwilioAccount, ServiceError> {
        require(principal, UserRole::Admin)?;
        let friendly_name = input
            .friendly_name
            .filter(|name| !name.trim().is_empty())
            .map(|name| bounded_text("friendly_name", &name, MAX_FRIENDLY_NAME_CHARS))
            .transpose()?;
        let account = NewTwilioAccount::parse(
            &input.account_sid,
            input.auth_token.expose(),
            friendly_name,
            &input.phone_numbers,
        )
        .map_err(|e| {
            let field = match &e {
                NewTwilioAccountError::Account(TwilioAccountError::InvalidAccountSid) => "account_sid",
                NewTwilioAccountError::Account(TwilioAccountError::InvalidAuthToken) => "auth_token",
                NewTwilioAccountError::Account(TwilioAccountError::NoPhoneNumbers)
                | NewTwilioAccountError::PhoneNumber(_) => "phone_numbers",
            };
            ServiceError::invalid(field, e)
        })?;
        let created =
            self.accounts.create_twilio_account(principal.owner_id, account, self.clock.now()).await?;
        tracing::info!(twilio_account_id = %created.id, "Twilio account registered");
        Ok(created)
    }

    /// The tenant's Twilio accounts (never their tokens). Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list(&self, principal: &Principal) -> Result<Vec<TwilioAccount>, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.accounts.list_twilio_accounts(principal.owner_id).await?)
    }

    /// One of the tenant's Twilio accounts (never its token). Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, twilio_account_id = %id))]
    pub async fn get(
        &self,
        principal: &Principal,
        id: TwilioAccountId,
    ) -> Result<TwilioAccount, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.accounts.get_twilio_account(principal.owner_id, id).await?)
    }
}
