//! Tenant administration: creating tenants, authenticating API keys, managing users and keys.

use std::sync::Arc;

use domain::tenant::parse_name;
use domain::{
    ApiKey, ApiKeyId, Email, NewApiKey, NewOwner, NewUser, OwnerId, Principal, SecretString, User, UserId,
    UserRole,
};
use ports::{ApiKeyIssuer, Clock, NewOwnerWithAdmin, OwnerCreated, StoreError, TenantDirectory};

use crate::{ServiceError, authz::require};

/// The longest API key, in bytes, [`TenantService::authenticate`] hashes; longer ones are refused
/// without a lookup.
pub const MAX_API_KEY_LEN: usize = 256;

/// The name of the key created with a tenant.
pub const FIRST_KEY_NAME: &str = "initial admin key";

/// Input to create a tenant with its first admin.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NewOwnerRequest {
    /// The tenant's name.
    pub name: String,
    /// The tenant's contact address.
    pub email: String,
    /// The admin's name; the tenant's name when absent.
    pub admin_name: Option<String>,
    /// The admin's login; the tenant's address when absent.
    pub admin_email: Option<String>,
}

/// Input to add a user to a tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateUser {
    /// Display name.
    pub name: String,
    /// Login address, unique within the tenant.
    pub email: String,
    /// What the user may do.
    pub role: UserRole,
}

/// Input to create an API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateApiKey {
    /// The user of the tenant the key acts as.
    pub user_id: UserId,
    /// A label.
    pub name: String,
}

/// Tenants, users and API keys.
#[derive(Clone)]
pub struct TenantService {
    /// Tenants, users and keys.
    pub directory: Arc<dyn TenantDirectory>,
    /// Key generation and hashing.
    pub issuer: Arc<dyn ApiKeyIssuer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TenantService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantService").finish_non_exhaustive()
    }
}

impl TenantService {
    /// Creates a tenant, its first admin and the admin's API key, returning the key's
    /// plaintext, which is shown this once. For operators (the CLI): no principal.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `name`, `email`, `admin_name` or `admin_email`;
    /// [`ServiceError::Conflict`] (`EmailTaken`) when the address is already a tenant's; storage
    /// errors.
    #[tracing::instrument(skip_all)]
    pub async fn create_owner(
        &self,
        input: NewOwnerRequest,
    ) -> Result<(OwnerCreated, SecretString), ServiceError> {
        let name = parse_name(&input.name).map_err(|e| ServiceError::invalid("name", e))?;
        let email = Email::parse(&input.email).map_err(|e| ServiceError::invalid("email", e))?;
        let admin_name = match input.admin_name {
            Some(raw) => parse_name(&raw).map_err(|e| ServiceError::invalid("admin_name", e))?,
            None => name.clone(),
        };
        let admin_email = match input.admin_email {
            Some(raw) => Email::parse(&raw).map_err(|e| ServiceError::invalid("admin_email", e))?,
            None => email.clone(),
        };
        let issued = self.issuer.issue();
        let input = NewOwnerWithAdmin {
            owner: NewOwner { name, email },
            admin: NewUser { name: admin_name, email: admin_email, role: UserRole::Admin },
            api_key: NewApiKey {
                user_id: UserId::from_uuid(uuid::Uuid::nil()),
                name: FIRST_KEY_NAME.to_owned(),
                prefix: issued.prefix,
                hash: issued.hash,
            },
        };
        let created = self.directory.create_owner(input, self.clock.now()).await?;
        tracing::info!(owner_id = %created.owner.id, admin_id = %created.admin.id, "tenant created");
        Ok((created, issued.plaintext))
    }

    /// The principal a presented API key acts as; `None` for an unknown, revoked or inactive
    /// key. Empty keys and keys longer than [`MAX_API_KEY_LEN`] are refused without a lookup.
    ///
    /// # Errors
    /// Storage errors.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Principal>, ServiceError> {
        if presented.is_empty() || presented.len() > MAX_API_KEY_LEN {
            return Ok(None);
        }
        let hash = self.issuer.hash(presented);
        let principal = self.directory.authenticate(hash, self.clock.now()).await?;
        if principal.is_none() {
            tracing::debug!("API key did not authenticate");
        }
        Ok(principal)
    }

    /// Adds a user to the principal's tenant. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `name` or `email`;
    /// [`ServiceError::Conflict`] (`EmailTaken`) when the address is taken in the tenant; storage
    /// errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn create_user(&self, principal: &Principal, input: CreateUser) -> Result<User, ServiceError> {
        require(principal, UserRole::Admin)?;
        let name = parse_name(&input.name).map_err(|e| ServiceError::invalid("name", e))?;
        let email = Email::parse(&input.email).map_err(|e| ServiceError::invalid("email", e))?;
        let user = NewUser { name, email, role: input.role };
        let created = self.directory.create_user(principal.owner_id, user, self.clock.now()).await?;
        tracing::info!(user_id = %created.id, role = %created.role, "user created");
        Ok(created)
    }

    /// The tenant's users. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list_users(&self, principal: &Principal) -> Result<Vec<User>, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.directory.list_users(principal.owner_id).await?)
    }

    /// One user of the tenant. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, user_id = %user_id))]
    pub async fn get_user(&self, principal: &Principal, user_id: UserId) -> Result<User, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.directory.get_user(principal.owner_id, user_id).await?)
    }

    /// Creates an API key for a user of the tenant, returning the key's plaintext, which is
    /// shown this once. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `name`, or `user_id` when
    /// the user is not the tenant's; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, user_id = %input.user_id))]
    pub async fn create_api_key(
        &self,
        principal: &Principal,
        input: CreateApiKey,
    ) -> Result<(ApiKey, SecretString), ServiceError> {
        require(principal, UserRole::Admin)?;
        self.issue_key(principal.owner_id, input).await
    }

    /// Creates an API key for the user with this id, in whatever tenant it belongs to; for
    /// operators (the CLI), so no principal. The plaintext is shown this once.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming `user_id` when no user has that id, or `name`;
    /// storage errors.
    #[tracing::instrument(skip_all, fields(user_id = %input.user_id))]
    pub async fn create_api_key_for_user(
        &self,
        input: CreateApiKey,
    ) -> Result<(ApiKey, SecretString), ServiceError> {
        let owner_id = self
            .directory
            .owner_of_user(input.user_id)
            .await?
            .ok_or_else(|| ServiceError::invalid("user_id", "no such user"))?;
        self.issue_key(owner_id, input).await
    }

    async fn issue_key(
        &self,
        owner_id: OwnerId,
        input: CreateApiKey,
    ) -> Result<(ApiKey, SecretString), ServiceError> {
        let name = parse_name(&input.name).map_err(|e| ServiceError::invalid("name", e))?;
        let issued = self.issuer.issue();
        let key = NewApiKey { user_id: input.user_id, name, prefix: issued.prefix, hash: issued.hash };
        let created =
            self.directory.create_api_key(owner_id, key, self.clock.now()).await.map_err(|e| match e {
                StoreError::NotFound => ServiceError::invalid("user_id", "no such user in this tenant"),
                other => other.into(),
            })?;
        tracing::info!(api_key_id = %created.id, "API key created");
        Ok((created, issued.plaintext))
    }

    /// The tenant's API keys (prefixes only). Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list_api_keys(&self, principal: &Principal) -> Result<Vec<ApiKey>, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.directory.list_api_keys(principal.owner_id).await?)
    }

    /// Revokes one of the tenant's API keys; revoking twice is harmless. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, api_key_id = %key_id))]
    pub async fn revoke_api_key(
        &self,
        principal: &Principal,
        key_id: ApiKeyId,
    ) -> Result<ApiKey, ServiceError> {
        require(principal, UserRole::Admin)?;
        let revoked = self.directory.revoke_api_key(principal.owner_id, key_id, self.clock.now()).await?;
        tracing::info!("API key revoked");
        Ok(revoked)
    }
}
