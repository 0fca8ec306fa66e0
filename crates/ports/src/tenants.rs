use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    ApiKey, ApiKeyId, ChannelAddress, Feature, FeatureName, FeatureUpdate, NewApiKey, NewOwner,
    NewTwilioAccount, NewUser, Owner, OwnerId, Principal, TwilioAccount, TwilioAccountChanges,
    TwilioAccountId, TwilioCredentials, User, UserId,
};

#[cfg(doc)]
use crate::ConflictKind;
use crate::StoreError;

/// Everything needed to create a tenant with its first admin and API key.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOwnerWithAdmin {
    /// The tenant.
    pub owner: NewOwner,
    /// Its first user (an admin).
    pub admin: NewUser,
    /// The admin's first key; `user_id` is ignored (the new admin's id is used).
    pub api_key: NewApiKey,
}

/// A tenant created with its admin and key.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerCreated {
    /// The tenant.
    pub owner: Owner,
    /// Its admin.
    pub admin: User,
    /// The admin's key (never the key itself).
    pub api_key: ApiKey,
}

/// What [`TwilioAccountStore::delete_twilio_account`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwilioAccountDeletion {
    /// The account is gone.
    Deleted,
    /// Nothing changed: this many active conversations are on the account's numbers.
    InUse {
        /// Active (`pending` or `progress`) conversations on its numbers.
        active_conversations: u64,
    },
}

/// Tenants, users and API keys.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    /// Creates a tenant, its admin and the admin's API key, all or nothing.
    ///
    /// # Errors
    /// MUST return [`StoreError::Conflict`] with [`ConflictKind::EmailTaken`] when the email is
    /// already a tenant's.
    async fn create_owner(
        &self,
        input: NewOwnerWithAdmin,
        at: DateTime<Utc>,
    ) -> Result<OwnerCreated, StoreError>;

    /// One tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_owner(&self, owner_id: OwnerId) -> Result<Owner, StoreError>;

    /// Adds a user to the tenant.
    ///
    /// # Errors
    /// MUST return [`StoreError::Conflict`] with [`ConflictKind::EmailTaken`] when the email is
    /// taken within the tenant; [`StoreError::Invalid`] for a value the store cannot keep.
    async fn create_user(
        &self,
        owner_id: OwnerId,
        user: NewUser,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    /// The tenant's users, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_users(&self, owner_id: OwnerId) -> Result<Vec<User>, StoreError>;

    /// One user of the tenant.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn get_user(&self, owner_id: OwnerId, user_id: UserId) -> Result<User, StoreError>;

    /// Stores a key for one of the tenant's users.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] when the user is not the tenant's.
    async fn create_api_key(
        &self,
        owner_id: OwnerId,
        key: NewApiKey,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError>;

    /// The tenant's keys (prefixes only), newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_api_keys(&self, owner_id: OwnerId) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes a key; revoking twice is harmless.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign key.
    async fn revoke_api_key(
        &self,
        owner_id: OwnerId,
        key_id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError>;

    /// The tenant a user belongs to, before any tenant is known (operator commands that start
    /// from a user id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn owner_of_user(&self, user_id: UserId) -> Result<Option<OwnerId>, StoreError>;

    /// Resolves the principal of a key from its hash, before any tenant is known. Revoked keys,
    /// inactive users and inactive tenants resolve to `None`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn authenticate(
        &self,
        key_hash: String,
        at: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError>;
}

/// Tenants' features.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait FeatureStore: Send + Sync {
    /// The tenant's features, by name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_features(&self, owner_id: OwnerId) -> Result<Vec<Feature>, StoreError>;

    /// One feature by name.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] when the tenant has no such feature.
    async fn get_feature(&self, owner_id: OwnerId, name: FeatureName) -> Result<Feature, StoreError>;

    /// Creates the feature or replaces its configuration and switch.
    ///
    /// # Errors
    /// MUST return [`StoreError::LimitReached`] when the tenant has its most features and this
    /// is a new one; [`StoreError::Unavailable`].
    async fn put_feature(
        &self,
        owner_id: OwnerId,
        update: FeatureUpdate,
        at: DateTime<Utc>,
    ) -> Result<Feature, StoreError>;

    /// Turns an existing feature on or off.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] when the tenant has no such feature.
    async fn set_feature_enabled(
        &self,
        owner_id: OwnerId,
        name: FeatureName,
        enabled: bool,
        at: DateTime<Utc>,
    ) -> Result<Feature, StoreError>;
}

/// Tenants' Twilio accounts. Auth tokens go in encrypted and come out only through
/// [`crate::WebhookAccounts::webhook_account`] and [`TwilioAccountStore::credentials_for_number`],
/// which no API response uses.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TwilioAccountStore: Send + Sync {
    /// Registers an account.
    ///
    /// # Errors
    /// MUST return [`StoreError::Conflict`] with [`ConflictKind::AccountSidTaken`] when the
    /// Account SID is already registered (by any tenant), and with [`ConflictKind::NumberTaken`]
    /// when one of its numbers is already another account's of the same tenant.
    async fn create_twilio_account(
        &self,
        owner_id: OwnerId,
        account: NewTwilioAccount,
        at: DateTime<Utc>,
    ) -> Result<TwilioAccount, StoreError>;

    /// The tenant's accounts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_twilio_accounts(&self, owner_id: OwnerId) -> Result<Vec<TwilioAccount>, StoreError>;

    /// One account of the tenant.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn get_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
    ) -> Result<TwilioAccount, StoreError>;

    /// Applies `changes` to one of the tenant's accounts (a new token is stored encrypted);
    /// webhook lookups see the change at once, on every instance.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id, and
    /// [`StoreError::Conflict`] with [`ConflictKind::NumberTaken`] when a new number is already
    /// another account's of the same tenant.
    async fn update_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
        changes: TwilioAccountChanges,
        at: DateTime<Utc>,
    ) -> Result<TwilioAccount, StoreError>;

    /// Deletes one of the tenant's accounts unless an active conversation is on one of its
    /// numbers: whether an active conversation exists and the deletion are decided together.
    /// Conversations and messages keep their numbers and stay readable.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn delete_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
    ) -> Result<TwilioAccountDeletion, StoreError>;

    /// The tenant's active account owning `business`, with its token (for sending).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`] when the token cannot be decrypted.
    async fn credentials_for_number(
        &self,
        owner_id: OwnerId,
        business: ChannelAddress,
    ) -> Result<Option<TwilioCredentials>, StoreError>;
}
