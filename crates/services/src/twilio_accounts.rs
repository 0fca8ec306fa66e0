//! Tenants' Twilio accounts.

use std::sync::Arc;

use domain::{
    MessagingServiceSid, NewTwilioAccount, NewTwilioAccountError, Principal, SecretString, TwilioAccount,
    TwilioAccountChanges, TwilioAccountError, TwilioAccountId, UserRole,
};
use ports::{Clock, TwilioAccountDeletion, TwilioAccountStore};

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
    /// A Messaging Service (`MG` and 32 hex digits) to send through instead of a number.
    pub messaging_service_sid: Option<String>,
}

/// Changes to a Twilio account (JSON merge semantics: `None` leaves a field as it is).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateTwilioAccount {
    /// A new label; `Some(None)` or a blank one removes it.
    pub friendly_name: Option<Option<String>>,
    /// A new auth token (32 hex digits), after the tenant rotated it at Twilio.
    pub auth_token: Option<SecretString>,
    /// The numbers, replacing the old list.
    pub phone_numbers: Option<Vec<String>>,
    /// Whether the account receives webhooks and sends.
    pub active: Option<bool>,
    /// A new Messaging Service; `Some(None)` sends from the numbers again.
    pub messaging_service_sid: Option<Option<String>>,
}

/// What removing a Twilio account did.
#[derive(Clone, Debug, PartialEq)]
pub enum TwilioAccountRemoval {
    /// No conversation was active on its numbers: the account is deleted.
    Deleted,
    /// Conversations were active on its numbers and removal was forced: the account is kept,
    /// deactivated (its webhooks are refused, its sends fail), so those conversations' history
    /// keeps its account.
    Deactivated(TwilioAccount),
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
        let friendly_name = friendly_name(input.friendly_name)?;
        let mut account = NewTwilioAccount::parse(
            &input.account_sid,
            input.auth_token.expose(),
            friendly_name,
            &input.phone_numbers,
        )
        .map_err(invalid_account)?;
        account.messaging_service_sid =
            input.messaging_service_sid.as_deref().map(messaging_service).transpose()?;
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

    /// Changes one of the tenant's Twilio accounts. Requires `admin`. Nothing to change reads
    /// the account back unchanged. A new token or `active: false` reaches every instance's
    /// webhook lookups at once.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `friendly_name`,
    /// `auth_token` or `phone_numbers`; [`ServiceError::NotFound`] for an unknown or foreign id;
    /// [`ServiceError::Conflict`] (`NumberTaken`) when a number is already another of the
    /// tenant's accounts'; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, twilio_account_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: TwilioAccountId,
        input: UpdateTwilioAccount,
    ) -> Result<TwilioAccount, ServiceError> {
        require(principal, UserRole::Admin)?;
        let friendly_name = input.friendly_name.map(friendly_name).transpose()?;
        let mut changes = TwilioAccountChanges::parse(
            friendly_name,
            input.auth_token.as_ref().map(SecretString::expose),
            input.phone_numbers.as_deref(),
            input.active,
        )
        .map_err(invalid_account)?;
        changes.messaging_service_sid = input
            .messaging_service_sid
            .map(|sid| sid.as_deref().map(messaging_service).transpose())
            .transpose()?;
        if changes.is_empty() {
            return Ok(self.accounts.get_twilio_account(principal.owner_id, id).await?);
        }
        let token_changed = changes.auth_token.is_some();
        let updated =
            self.accounts.update_twilio_account(principal.owner_id, id, changes, self.clock.now()).await?;
        tracing::info!(token_changed, active = updated.active, "Twilio account changed");
        Ok(updated)
    }

    /// Removes one of the tenant's Twilio accounts. Requires `admin`. An account with active
    /// conversations on its numbers is refused unless `force`, which deactivates it instead.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::NotFound`] for an unknown or foreign id;
    /// [`ServiceError::AccountInUse`] when conversations are active and `force` is not set;
    /// storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, twilio_account_id = %id, force))]
    pub async fn remove(
        &self,
        principal: &Principal,
        id: TwilioAccountId,
        force: bool,
    ) -> Result<TwilioAccountRemoval, ServiceError> {
        require(principal, UserRole::Admin)?;
        match self.accounts.delete_twilio_account(principal.owner_id, id).await? {
            TwilioAccountDeletion::Deleted => {
                tracing::info!("Twilio account deleted");
                Ok(TwilioAccountRemoval::Deleted)
            }
            TwilioAccountDeletion::InUse { active_conversations } if !force => {
                Err(ServiceError::AccountInUse { active_conversations })
            }
            TwilioAccountDeletion::InUse { active_conversations } => {
                let deactivate =
                    TwilioAccountChanges { active: Some(false), ..TwilioAccountChanges::default() };
                let account = self
                    .accounts
                    .update_twilio_account(principal.owner_id, id, deactivate, self.clock.now())
                    .await?;
                tracing::info!(active_conversations, "Twilio account in use: deactivated instead of deleted");
                Ok(TwilioAccountRemoval::Deactivated(account))
            }
        }
    }
}

/// A label within bounds; blank counts as none.
fn friendly_name(raw: Option<String>) -> Result<Option<String>, ServiceError> {
    raw.filter(|name| !name.trim().is_empty())
        .map(|name| bounded_text("friendly_name", &name, MAX_FRIENDLY_NAME_CHARS))
        .transpose()
}

fn messaging_service(raw: &str) -> Result<MessagingServiceSid, ServiceError> {
    MessagingServiceSid::parse(raw).map_err(|e| ServiceError::invalid("messaging_service_sid", e))
}

/// The input field a refused account value came from.
fn invalid_account(error: NewTwilioAccountError) -> ServiceError {
    let field = match &error {
        NewTwilioAccountError::Account(TwilioAccountError::InvalidAccountSid) => "account_sid",
        NewTwilioAccountError::Account(TwilioAccountError::InvalidAuthToken) => "auth_token",
        NewTwilioAccountError::Account(TwilioAccountError::InvalidMessagingServiceSid) => {
            "messaging_service_sid"
        }
        NewTwilioAccountError::Account(TwilioAccountError::NoPhoneNumbers)
        | NewTwilioAccountError::PhoneNumber(_) => "phone_numbers",
    };
    ServiceError::invalid(field, error)
}
