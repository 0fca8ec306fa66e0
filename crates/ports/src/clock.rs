use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::SecretString;

/// The time source. Use cases read time only through it, so tests can fix it.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// Randomness for retry jitter.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Jitter: Send + Sync {
    /// A uniformly distributed number in `0..1`.
    fn sample(&self) -> f64;
}

/// Waiting, for use cases that retry within a deadline (the dispatcher recording an accepted
/// send). A port, so the use cases hold no runtime and tests do not sleep.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Pause: Send + Sync {
    /// Returns after `duration`.
    async fn pause(&self, duration: std::time::Duration);
}

/// A freshly generated API key: the plaintext is shown once, only the hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedApiKey {
    /// The key to hand to its user, once.
    pub plaintext: SecretString,
    /// Its first characters, for listings.
    pub prefix: String,
    /// Its hash, the only form stored.
    pub hash: String,
}

/// Generates API keys and hashes presented ones, so the use cases never hold the crypto.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ApiKeyIssuer: Send + Sync {
    /// A new random key.
    fn issue(&self) -> IssuedApiKey;
    /// The hash under which `presented` would be stored.
    fn hash(&self, presented: &str) -> String;
}
