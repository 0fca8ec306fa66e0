//! A tenant's Twilio account: the credentials the service sends with and validates
//! webhooks against, and the numbers it owns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ChannelAddress, OwnerId, SecretString, TwilioAccountId};

/// Why a Twilio account input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioAccountError {
    /// Account SIDs are `AC` followed by 32 hex digits.
    #[error("account_sid must be 'AC' followed by 32 hexadecimal digits")]
    InvalidAccountSid,
    /// Auth tokens are 32 hex digits.
    #[error("auth_token must be 32 hexadecimal digits")]
    InvalidAuthToken,
    /// At least one number is needed to receive or send.
    #[error("phone_numbers must list at least one number")]
    NoPhoneNumbers,
}

/// A Twilio Account SID (`AC…`), which is not secret: it appears in every webhook.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountSid(String);

impl AccountSid {
    /// Validates an Account SID.
    ///
    /// # Errors
    /// [`TwilioAccountError::InvalidAccountSid`].
    pub fn parse(raw: &str) -> Result<Self, TwilioAccountError> {
        let valid =
            raw.len() == 34 && raw.starts_with("AC") && raw[2..].chars().all(|c| c.is_ascii_hexdigit());
        if valid { Ok(Self(raw.to_owned())) } else { Err(TwilioAccountError::InvalidAccountSid) }
    }

    /// The SID.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountSid {
    type Error = TwilioAccountError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AccountSid> for String {
    fn from(sid: AccountSid) -> Self {
        sid.0
    }
}

/// A tenant's Twilio account as the API shows it: never the auth token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwilioAccount {
    /// The account's id in Conversa.
    pub id: TwilioAccountId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// Twilio's Account SID.
    pub account_sid: AccountSid,
    /// A label.
    pub friendly_name: Option<String>,
    /// The numbers (SMS `+…` or `whatsapp:+…`) the tenant receives on and sends from.
    pub phone_numbers: Vec<String>,
    /// Whether the account is used.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl TwilioAccount {
    /// Whether `address` is one of the account's numbers.
    #[must_use]
    pub fn owns(&self, address: &ChannelAddress) -> bool {
        let wanted = address.to_twilio();
        self.phone_numbers.contains(&wanted)
    }
}

/// A Twilio account together with its auth token: only for signing checks and sending,
/// never for an API response.
#[derive(Clone, Debug, PartialEq)]
pub struct TwilioCredentials {
    /// The account.
    pub account: TwilioAccount,
    /// Its auth token, decrypted.
    pub auth_token: SecretString,
}

/// Input to register a Twilio account.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTwilioAccount {
    /// Twilio's Account SID.
    pub account_sid: AccountSid,
    /// The auth token, stored encrypted.
    pub auth_token: SecretString,
    /// A label.
    pub friendly_name: Option<String>,
    /// Numbers in Twilio's form, validated and normalised.
    pub phone_numbers: Vec<String>,
}

impl NewTwilioAccount {
    /// Validates and normalises an account registration.
    ///
    /// # Errors
    /// [`TwilioAccountError`] for a bad SID, token or empty number list; a bad number is
    /// reported as [`crate::PhoneNumberError`] through [`NewTwilioAccountError`].
    pub fn parse(
        account_sid: &str,
        auth_token: &str,
        friendly_name: Option<String>,
        phone_numbers: &[String],
    ) -> Result<Self, NewTwilioAccountError> {
        let account_sid = AccountSid::parse(account_sid)?;
        if auth_token.len() != 32 || !auth_token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(TwilioAccountError::InvalidAuthToken.into());
        }
        if phone_numbers.is_empty() {
            return Err(TwilioAccountError::NoPhoneNumbers.into());
        }
        let mut numbers = phone_numbers
            .iter()
            .map(|raw| ChannelAddress::parse(raw).map(|address| address.to_twilio()))
            .collect::<Result<Vec<_>, _>>()?;
        numbers.sort();
        numbers.dedup();
        Ok(Self {
            account_sid,
            auth_token: SecretString::new(auth_token),
            friendly_name,
            phone_numbers: numbers,
        })
    }
}

/// Why [`NewTwilioAccount::parse`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewTwilioAccountError {
    /// SID, token or number list.
    #[error(transparent)]
    Account(#[from] TwilioAccountError),
    /// One of the numbers.
    #[error("phone_numbers: {0}")]
    PhoneNumber(#[from] crate::PhoneNumberError),
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_and_normalises() {
        let numbers =
            vec!["whatsapp:+14155238886".to_owned(), "+1 415 523 8886".to_owned(), "+14155238886".to_owned()];
        let account = NewTwilioAccount::parse(SID, TOKEN, None, &numbers).unwrap();
        assert_eq!(account.phone_numbers, ["+14155238886", "whatsapp:+14155238886"]);
        assert_eq!(format!("{:?}", account.auth_token), "[redacted]");
    }

    #[test]
    fn refuses_bad_input() {
        let numbers = vec!["+14155238886".to_owned()];
        assert_eq!(
            NewTwilioAccount::parse("AC123", TOKEN, None, &numbers),
            Err(TwilioAccountError::InvalidAccountSid.into())
        );
        assert_eq!(
            NewTwilioAccount::parse(SID, "short", None, &numbers),
            Err(TwilioAccountError::InvalidAuthToken.into())
        );
        assert_eq!(
            NewTwilioAccount::parse(SID, TOKEN, None, &[]),
            Err(TwilioAccountError::NoPhoneNumbers.into())
        );
        assert!(matches!(
            NewTwilioAccount::parse(SID, TOKEN, None, &["12345".to_owned()]),
            Err(NewTwilioAccountError::PhoneNumber(_))
        ));
    }
}
