//! How values that are not plain numbers or text are read: durations from their unit (the key's
//! name says which), secrets straight into [`SecretString`] so no copy of them lives in a type
//! that prints.

use std::time::Duration;

use domain::SecretString;
use serde::{Deserialize, Deserializer};

/// A duration written in milliseconds (keys ending in `_MS`).
pub(super) fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

/// A duration written in seconds (keys ending in `_SECONDS`).
pub(super) fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_secs)
}

/// A secret.
pub(super) fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    String::deserialize(deserializer).map(SecretString::new)
}

/// A secret that may be left empty (`.env.example` writes `KEY=`): empty is none.
pub(super) fn optional_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok((!value.is_empty()).then(|| SecretString::new(value)))
}

/// Secrets separated by commas, blanks left out.
pub(super) fn secret_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SecretString>, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok(value.split(',').map(str::trim).filter(|item| !item.is_empty()).map(SecretString::new).collect())
}

/// A quota: a count, or `unlimited` (or empty, as `.env.example` may write it) for none.
pub(super) fn quota<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Quota {
        Count(u32),
        Word(String),
    }
    match Quota::deserialize(deserializer)? {
        Quota::Count(count) => Ok(Some(count)),
        Quota::Word(word) if word.is_empty() || word.eq_ignore_ascii_case("unlimited") => Ok(None),
        Quota::Word(word) => word.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("`{word}` is neither a count of messages nor `unlimited`"))
        }),
    }
}
