//! Phone numbers and channel addresses.
//!
//! Twilio writes a WhatsApp participant as `whatsapp:+5511999998888` and an SMS one as
//! `+5511999998888`. [`ChannelAddress`] parses both forms into a validated E.164 number and the
//! channel it belongs to, and writes them back the way Twilio expects.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Channel;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// The text was empty.
    #[error("phone number is empty")]
    Empty,
    /// The number did not start with `+`.
    #[error("phone number must be in E.164 form, starting with '+' (got `{0}`)")]
    MissingPlus(String),
    /// Something other than digits followed the `+`.
    #[error("phone number may only contain digits after '+' (got `{0}`)")]
    NotDigits(String),
    /// E.164 allows 8 to 15 digits including the country code, which cannot start with 0.
    #[error("phone number must have 8 to 15 digits and a country code not starting with 0 (got `{0}`)")]
    BadLength(String),
    /// A channel prefix other than `whatsapp:` was used.
    #[error("unsupported channel prefix in `{0}`; expected a bare E.164 number or `whatsapp:+…`")]
    UnknownPrefix(String),
}

/// A validated E.164 phone number such as `+5511999998888`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses an E.164 number. Spaces, dashes, dots and parentheses are tolerated and removed
    /// (people paste `+55 (11) 99999-8888`); anything else must be digits after the `+`.
    ///
    /// # Errors
    /// Returns a [`PhoneNumberError`] naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(PhoneNumberError::MissingPlus(trimmed.to_owned()));
        };
        let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneNumberError::NotDigits(trimmed.to_owned()));
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneNumberError::BadLength(trimmed.to_owned()));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The number in E.164 form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A participant of a conversation: a phone number on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChannelAddress {
    /// The channel the number is reached on.
    pub channel: Channel,
    /// The number itself.
    pub number: PhoneNumber,
}

impl ChannelAddress {
    const WHATSAPP_PREFIX: &'static str = "whatsapp:";

    /// Parses Twilio's address form: `whatsapp:+…` is WhatsApp, a bare `+…` is SMS.
    ///
    /// # Errors
    /// Returns a [`PhoneNumberError`] when the number or the prefix is not acceptable.
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        let trimmed = raw.trim();
        if let Some(number) = trimmed.strip_prefix(Self::WHATSAPP_PREFIX) {
            return Ok(Self::new(Channel::Whatsapp, PhoneNumber::parse(number)?));
        }
        if let Some((prefix, _)) = trimmed.split_once(':') {
            return Err(PhoneNumberError::UnknownPrefix(format!("{prefix}:")));
        }
        Ok(Self::new(Channel::Sms, PhoneNumber::parse(trimmed)?))
    }

    /// An address on `channel`.
    #[must_use]
    pub const fn new(channel: Channel, number: PhoneNumber) -> Self {
        Self { channel, number }
    }

    /// The address as Twilio writes it in `To`/`From`.
    #[must_use]
    pub fn to_twilio(&self) -> String {
        match self.channel {
            Channel::Sms => self.number.0.clone(),
            Channel::Whatsapp => format!("{}{}", Self::WHATSAPP_PREFIX, self.number.0),
        }
    }
}

impl std::fmt::Display for ChannelAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_twilio())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_and_strips_formatting() {
        assert_eq!(PhoneNumber::parse("+5511999998888").unwrap().as_str(), "+5511999998888");
        assert_eq!(PhoneNumber::parse(" +55 (11) 99999-8888 ").unwrap().as_str(), "+5511999998888");
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneNumberError::Empty));
        assert!(matches!(PhoneNumber::parse("5511999998888"), Err(PhoneNumberError::MissingPlus(_))));
        assert!(matches!(PhoneNumber::parse("+55abc"), Err(PhoneNumberError::NotDigits(_))));
        assert!(matches!(PhoneNumber::parse("+1234"), Err(PhoneNumberError::BadLength(_))));
        assert!(matches!(PhoneNumber::parse("+1234567890123456"), Err(PhoneNumberError::BadLength(_))));
        assert!(matches!(PhoneNumber::parse("+0123456789"), Err(PhoneNumberError::BadLength(_))));
    }

    #[test]
    fn whatsapp_prefix_maps_to_channel() {
        let wa = ChannelAddress::parse("whatsapp:+14155238886").unwrap();
        assert_eq!(wa.channel, Channel::Whatsapp);
        assert_eq!(wa.to_twilio(), "whatsapp:+14155238886");
        let sms = ChannelAddress::parse("+14155238886").unwrap();
        assert_eq!(sms.channel, Channel::Sms);
        assert_eq!(sms.to_twilio(), "+14155238886");
        assert!(matches!(
            ChannelAddress::parse("messenger:+14155238886"),
            Err(PhoneNumberError::UnknownPrefix(_))
        ));
    }

    #[test]
    fn deserialization_validates() {
        assert!(serde_json::from_str::<PhoneNumber>("\"+5511999998888\"").is_ok());
        assert!(serde_json::from_str::<PhoneNumber>("\"hello\"").is_err());
    }
}
