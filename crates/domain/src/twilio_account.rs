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
    /// Messaging Service SIDs are `MG` followed by 32 hex digits.
    #[error("messaging_service_sid must be 'MG' followed by 32 hexadecimal digits")]
    InvalidMessagingServiceSid,
    /// At least one number is needed to receive or send.
    #[error("phone_numbers must list at least one number")]
    NoPhoneNumbers,
}

crate::sid::twilio_sid!(
    /// A Twilio Account SID (`AC…`), which is not secret: it appears in every webhook.
    ///
    /// Held in Twilio's own form, `AC` and 32 lower-case hex digits, whatever the case it was
    /// written in: one account is one SID, so it is stored, looked up and compared in one form.
    ///
    /// ```
    /// # use domain::AccountSid;
    /// let sid = AccountSid::parse("ac0123456789ABCDEF0123456789abcdef").unwrap();
    /// assert_eq!(sid.as_str(), "AC0123456789abcdef0123456789abcdef");
    /// ```
    AccountSid,
    "AC",
    TwilioAccountError,
    TwilioAccountError::InvalidAccountSid
);

crate::sid::twilio_sid!(
    /// A Twilio Messaging Service SID (`MG…`): when an account has one, sends name it instead of
    /// a `From` number and Twilio picks the sender from the service's pool. Held in Twilio's
    /// form, `MG` and 32 lower-case hex digits, like [`AccountSid`].
    ///
    /// ```
    /// # use domain::MessagingServiceSid;
    /// let sid = MessagingServiceSid::parse("mg0123456789ABCDEF0123456789abcdef").unwrap();
    /// assert_eq!(sid.as_str(), "MG0123456789abcdef0123456789abcdef");
    /// assert!(MessagingServiceSid::parse("AC0123456789abcdef0123456789abcdef").is_err());
    /// ```
    MessagingServiceSid,
    "MG",
    TwilioAccountError,
    TwilioAccountError::InvalidMessagingServiceSid
);

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
    /// The Messaging Service sends go through instead of a `From` number, when set.
    pub messaging_service_sid: Option<MessagingServiceSid>,
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
    /// The Messaging Service to send through instead of a `From` number.
    pub messaging_service_sid: Option<MessagingServiceSid>,
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
        Ok(Self {
            account_sid: AccountSid::parse(account_sid)?,
            auth_token: parse_auth_token(auth_token)?,
            friendly_name,
            phone_numbers: parse_phone_numbers(phone_numbers)?,
            messaging_service_sid: None,
        })
    }
}

/// Auth tokens are 32 hex digits.
fn parse_auth_token(raw: &str) -> Result<SecretString, TwilioAccountError> {
    if raw.len() == 32 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(SecretString::new(raw))
    } else {
        Err(TwilioAccountError::InvalidAuthToken)
    }
}

/// At least one number, each in Twilio's form; sorted, without repeats.
fn parse_phone_numbers(raw: &[String]) -> Result<Vec<String>, NewTwilioAccountError> {
    if raw.is_empty() {
        return Err(TwilioAccountError::NoPhoneNumbers.into());
    }
    let mut numbers = raw
        .iter()
        .map(|raw| ChannelAddress::parse(raw).map(|address| address.to_twilio()))
        .collect::<Result<Vec<_>, _>>()?;
    numbers.sort();
    numbers.dedup();
    Ok(numbers)
}

/// Changes to a registered Twilio account; `None` leaves a field as it is. The Account SID
/// never changes: another SID is another account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TwilioAccountChanges {
    /// A new label, or `Some(None)` to remove it.
    pub friendly_name: Option<Option<String>>,
    /// A new auth token (after the tenant rotated it at Twilio), stored encrypted.
    pub auth_token: Option<SecretString>,
    /// The new list of numbers, validated and normalised; it replaces the old one.
    pub phone_numbers: Option<Vec<String>>,
    /// Whether the account is used (receives webhooks, sends).
    pub active: Option<bool>,
    /// A new Messaging Service, or `Some(None)` to send from the numbers again.
    pub messaging_service_sid: Option<Option<MessagingServiceSid>>,
}

impl TwilioAccountChanges {
    /// Validates and normalises changes with the rules of [`NewTwilioAccount::parse`].
    ///
    /// # Errors
    /// [`TwilioAccountError`] for a bad token or an empty number list; a bad number as
    /// [`crate::PhoneNumberError`] through [`NewTwilioAccountError`].
    pub fn parse(
        friendly_name: Option<Option<String>>,
        auth_token: Option<&str>,
        phone_numbers: Option<&[String]>,
        active: Option<bool>,
    ) -> Result<Self, NewTwilioAccountError> {
        Ok(Self {
            friendly_name,
            auth_token: auth_token.map(parse_auth_token).transpose()?,
            phone_numbers: phone_numbers.map(parse_phone_numbers).transpose()?,
            active,
            messaging_service_sid: None,
        })
    }

    /// Whether nothing would change.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.friendly_name.is_none()
            && self.auth_token.is_none()
            && self.phone_numbers.is_none()
            && self.active.is_none()
            && self.messaging_service_sid.is_none()
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
    fn account_sids_are_read_in_any_case_and_kept_in_twilios() {
        let canonical = AccountSid::parse(SID).unwrap();
        assert_eq!(canonical.as_str(), SID);
        for raw in [
            "AC0123456789ABCDEF0123456789ABCDEF",
            "ac0123456789abcdef0123456789abcdef",
            "aC0123456789AbCdEf0123456789aBcDeF",
        ] {
            assert_eq!(AccountSid::parse(raw), Ok(canonical.clone()), "{raw}");
        }
        let from_json: AccountSid = serde_json::from_str("\"AC0123456789ABCDEF0123456789ABCDEF\"").unwrap();
        assert_eq!(from_json, canonical);
        for raw in [
            "AB0123456789abcdef0123456789abcdef",
            "AC0123456789abcdef0123456789abcdeg",
            "AC123",
            "Aé0123456789abcdef0123456789abcde",
        ] {
            assert_eq!(AccountSid::parse(raw), Err(TwilioAccountError::InvalidAccountSid), "{raw}");
        }
    }

    #[test]
    fn changes_are_validated_like_a_registration() {
        let numbers = vec!["+1 415 523 8886".to_owned(), "+14155238886".to_owned()];
        let changes =
            TwilioAccountChanges::parse(Some(None), Some(TOKEN), Some(&numbers), Some(false)).unwrap();
        assert_eq!(changes.phone_numbers.as_deref(), Some(&["+14155238886".to_owned()][..]));
        assert_eq!(changes.auth_token.as_ref().map(SecretString::expose), Some(TOKEN));
        assert_eq!((changes.friendly_name, changes.active), (Some(None), Some(false)));
        assert!(TwilioAccountChanges::parse(None, None, None, None).unwrap().is_empty());
        assert_eq!(
            TwilioAccountChanges::parse(None, Some("short"), None, None),
            Err(TwilioAccountError::InvalidAuthToken.into())
        );
        assert_eq!(
            TwilioAccountChanges::parse(None, None, Some(&[]), None),
            Err(TwilioAccountError::NoPhoneNumbers.into())
        );
        assert!(matches!(
            TwilioAccountChanges::parse(None, None, Some(&["12345".to_owned()]), None),
            Err(NewTwilioAccountError::PhoneNumber(_))
        ));
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
