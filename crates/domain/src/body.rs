//! Message bodies: non-empty text with an upper bound.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a message body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageBodyError {
    /// The body was empty or only whitespace.
    #[error("message body is empty")]
    Empty,
    /// The body contains the NUL character, which no channel carries and PostgreSQL cannot store.
    #[error("message body contains the NUL character (U+0000)")]
    ContainsNul,
    /// The body had more characters than allowed.
    #[error("message body has {actual} characters; at most {max} are allowed")]
    TooLong {
        /// Characters in the refused body.
        actual: usize,
        /// The limit.
        max: usize,
    },
}

/// The text of a message: never empty, at most [`MessageBody::MAX_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageBody(String);

impl MessageBody {
    /// The longest body accepted: WhatsApp's limit, above SMS's 1600 (Twilio splits SMS itself).
    pub const MAX_CHARS: usize = 4096;

    /// Validates `text`. Surrounding whitespace is kept (it may be meaningful in a reply) but a
    /// body made only of whitespace is empty.
    ///
    /// # Errors
    /// [`MessageBodyError::Empty`], [`MessageBodyError::ContainsNul`] or
    /// [`MessageBodyError::TooLong`].
    pub fn new(text: impl Into<String>) -> Result<Self, MessageBodyError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Err(MessageBodyError::Empty);
        }
        if text.contains('\0') {
            return Err(MessageBodyError::ContainsNul);
        }
        let actual = text.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(MessageBodyError::TooLong { actual, max: Self::MAX_CHARS });
        }
        Ok(Self(text))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Takes the text out.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Display for MessageBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MessageBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_nul_character() {
        assert_eq!(MessageBody::new("oi\0tudo bem"), Err(MessageBodyError::ContainsNul));
        assert!(MessageBody::new("oi \\0 literal").is_ok(), "a backslash and a zero are text");
    }

    #[test]
    fn refuses_empty_and_blank() {
        assert_eq!(MessageBody::new(""), Err(MessageBodyError::Empty));
        assert_eq!(MessageBody::new(" \n\t"), Err(MessageBodyError::Empty));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let at_limit = "é".repeat(MessageBody::MAX_CHARS);
        assert!(MessageBody::new(at_limit).is_ok());
        let over = "a".repeat(MessageBody::MAX_CHARS + 1);
        assert_eq!(
            MessageBody::new(over),
            Err(MessageBodyError::TooLong {
                actual: MessageBody::MAX_CHARS + 1,
                max: MessageBody::MAX_CHARS
            })
        );
    }
}
