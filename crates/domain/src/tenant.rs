//! Tenants ("owners"), their users and the API keys users authenticate with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ApiKeyId, OwnerId, UserId, UserRole};

/// Why an email address or a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantInputError {
    /// Not of the form `local@domain.tld`, or longer than 254 characters.
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    /// Empty, or longer than 200 characters.
    #[error("name must have 1 to 200 characters")]
    InvalidName,
}

/// An email address, checked for shape (one `@`, a dotted domain) and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    ///
    /// # Errors
    /// [`TenantInputError::InvalidEmail`] when it has no `@`, an empty part, spaces, no dot in
    /// the domain, or more than 254 characters.
    pub fn parse(raw: &str) -> Result<Self, TenantInputError> {
        let email = raw.trim().to_lowercase();
        // Characters, as documented (and as the API's schema can state with `maxLength`), not
        // bytes: a non-ASCII address is no longer for being encoded in more of them.
        let valid = email.chars().count() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.split('.').count() >= 2
                    && domain.split('.').all(|label| !label.is_empty())
            });
        if valid { Ok(Self(email)) } else { Err(TenantInputError::InvalidEmail(raw.to_owned())) }
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Checks a display name: at most 200 characters as sent (what the API document promises),
/// not blank; kept trimmed.
///
/// # Errors
/// [`TenantInputError::InvalidName`].
pub fn parse_name(raw: &str) -> Result<String, TenantInputError> {
    let name = raw.trim();
    if name.is_empty() || raw.chars().count() > 200 {
        return Err(TenantInputError::InvalidName);
    }
    Ok(name.to_owned())
}

/// A tenant: a business running conversations through Conversa.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    /// The tenant's id; every tenant-owned row carries it.
    pub id: OwnerId,
    /// Display name.
    pub name: String,
    /// Contact address.
    pub email: Email,
    /// Whether the tenant may use the service.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input to create a tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOwner {
    /// Display name (see [`parse_name`]).
    pub name: String,
    /// Contact address.
    pub email: Email,
}

/// A person (or integration) acting for a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The tenant it belongs to.
    pub owner_id: OwnerId,
    /// Display name.
    pub name: String,
    /// Login address, unique within the tenant.
    pub email: Email,
    /// What the user may do.
    pub role: UserRole,
    /// Whether the user (and so its API keys) may act.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input to create a user.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    /// Display name (see [`parse_name`]).
    pub name: String,
    /// Login address.
    pub email: Email,
    /// Role granted.
    pub role: UserRole,
}

/// An API key as stored and listed: never the key itself, only its hash and a prefix that
/// lets people tell their keys apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// The user the key acts as.
    pub user_id: UserId,
    /// A label chosen by its creator.
    pub name: String,
    /// The first characters of the key, shown in listings.
    pub prefix: String,
    /// When the key was last used to authenticate, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Input to store a newly generated API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    /// The user the key acts as.
    pub user_id: UserId,
    /// Label.
    pub name: String,
    /// Displayable prefix of the key.
    pub prefix: String,
    /// Hex SHA-256 of the full key; the only form in which the key is stored.
    pub hash: String,
}

/// Who is making a request, resolved from an API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The tenant every action is scoped to.
    pub owner_id: OwnerId,
    /// The acting user.
    pub user_id: UserId,
    /// The key used.
    pub api_key_id: ApiKeyId,
    /// The user's role.
    pub role: UserRole,
}

impl Principal {
    /// Whether the principal's role grants at least `required`.
    #[must_use]
    pub const fn can(&self, required: UserRole) -> bool {
        self.role.allows(required)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_bounded_in_characters_not_bytes() {
        let domain = "@exemplo.com.br";
        let at_limit = format!("{}{domain}", "é".repeat(254 - domain.len()));
        assert!(at_limit.len() > 254, "the address is longer in bytes");
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("é{at_limit}");
        assert!(matches!(Email::parse(&over), Err(TenantInputError::InvalidEmail(_))));
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "a@b@c.com",
            "ana@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Acme  ").unwrap(), "Acme");
        assert_eq!(parse_name("  "), Err(TenantInputError::InvalidName));
        assert_eq!(parse_name(&"x".repeat(201)), Err(TenantInputError::InvalidName));
        let padded = format!("  {}", "x".repeat(199));
        assert_eq!(parse_name(&padded), Err(TenantInputError::InvalidName), "counted as sent");
    }
}
