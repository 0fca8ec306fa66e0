//! The provider's id of a message (Twilio's `MessageSid`).

use serde::{Deserialize, Serialize};

/// Why a provider message id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {max} characters without spaces", max = MessageSid::MAX_CHARS)]
pub struct InvalidMessageSid;

/// A provider's id of a message: what makes an inbound message idempotent (a webhook retried by
/// Twilio carries the same one) and what status callbacks name. Twilio's are 34 characters
/// (`SM…`, `MM…`); the bound leaves room for other providers without admitting unbounded text.
///
/// ```
/// use domain::MessageSid;
///
/// assert_eq!(MessageSid::parse(" SM0123 ").unwrap().as_str(), "SM0123");
/// assert!(MessageSid::parse("").is_err());
/// assert!(MessageSid::parse("SM 01").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageSid(String);

impl MessageSid {
    /// The longest id accepted.
    pub const MAX_CHARS: usize = 64;

    /// Validates an id: surrounding spaces are trimmed; then 1 to [`Self::MAX_CHARS`]
    /// characters, none of them white space.
    ///
    /// # Errors
    /// [`InvalidMessageSid`].
    pub fn parse(raw: &str) -> Result<Self, InvalidMessageSid> {
        let sid = raw.trim();
        if sid.is_empty() || sid.chars().count() > Self::MAX_CHARS || sid.chars().any(char::is_whitespace) {
            return Err(InvalidMessageSid);
        }
        Ok(Self(sid.to_owned()))
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageSid {
    type Error = InvalidMessageSid;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MessageSid> for String {
    fn from(sid: MessageSid) -> Self {
        sid.0
    }
}

impl std::fmt::Display for MessageSid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_counted_in_characters() {
        assert!(MessageSid::parse(&"é".repeat(MessageSid::MAX_CHARS)).is_ok());
        assert_eq!(MessageSid::parse(&"x".repeat(MessageSid::MAX_CHARS + 1)), Err(InvalidMessageSid));
        assert_eq!(MessageSid::parse("SM\t1"), Err(InvalidMessageSid));
        assert!(serde_json::from_str::<MessageSid>("\"   \"").is_err());
    }
}
