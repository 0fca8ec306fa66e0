//! Secrets at rest: Twilio auth tokens encrypted with AES-256-GCM, API keys stored as SHA-256.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use domain::SecretString;
use ports::{ApiKeyIssuer, IssuedApiKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// The encryption key was not 32 bytes of hex.
#[derive(Debug, thiserror::Error)]
#[error("the token encryption key must be 64 hexadecimal characters (32 bytes)")]
pub struct InvalidKey;

/// Encrypts and decrypts Twilio auth tokens. Each encryption uses a fresh random nonce, stored
/// in front of the ciphertext.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// A cipher from a 64-character hex key (from configuration).
    ///
    /// # Errors
    /// [`InvalidKey`].
    pub fn from_hex(key: &str) -> Result<Self, InvalidKey> {
        let bytes = hex::decode(key.trim()).map_err(|_| InvalidKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| InvalidKey)?;
        Ok(Self { cipher })
    }

    /// `nonce || ciphertext+tag`.
    #[must_use]
    pub fn encrypt(&self, secret: &SecretString) -> Vec<u8> {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed =
            self.cipher.encrypt(Nonce::from_slice(&nonce), secret.expose().as_bytes()).unwrap_or_default();
        [nonce.as_slice(), sealed.as_slice()].concat()
    }

    /// Reverses [`TokenCipher::encrypt`]; `None` when the data was not sealed with this key.
    #[must_use]
    pub fn decrypt(&self, stored: &[u8]) -> Option<SecretString> {
        if stored.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), sealed).ok()?;
        String::from_utf8(plain).ok().map(SecretString::new)
    }
}

/// API keys: `cnv_` followed by 40 random hex characters; stored as their SHA-256. The keys are
/// random and long, so a fast hash is enough (no password stretching needed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256ApiKeys;

impl Sha256ApiKeys {
    const PREFIX_LEN: usize = 12;
}

impl ApiKeyIssuer for Sha256ApiKeys {
    fn issue(&self) -> IssuedApiKey {
        let mut random = [0_u8; 20];
        rand::rng().fill_bytes(&mut random);
        let key = format!("cnv_{}", hex::encode(random));
        IssuedApiKey {
            prefix: key[..Self::PREFIX_LEN].to_owned(),
            hash: self.hash(&key),
            plaintext: SecretString::new(key),
        }
    }

    fn hash(&self, presented: &str) -> String {
        hex::encode(Sha256::digest(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn tokens_round_trip_and_differ_each_time() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let token = SecretString::new("0123456789abcdef0123456789abcdef");
        let (a, b) = (cipher.encrypt(&token), cipher.encrypt(&token));
        assert_ne!(a, b, "fresh nonce each time");
        assert!(!a.windows(8).any(|w| w == b"01234567"), "no plaintext in the stored form");
        assert_eq!(cipher.decrypt(&a), Some(token));
    }

    #[test]
    fn another_key_or_tampering_cannot_decrypt() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let other = TokenCipher::from_hex(&"ff".repeat(32)).unwrap();
        let mut sealed = cipher.encrypt(&SecretString::new("secret"));
        assert_eq!(other.decrypt(&sealed), None);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(cipher.decrypt(&sealed), None);
        assert_eq!(cipher.decrypt(&[1, 2, 3]), None);
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(TokenCipher::from_hex("abc").is_err());
        assert!(TokenCipher::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn issued_keys_hash_to_what_is_stored() {
        let issued = Sha256ApiKeys.issue();
        assert!(issued.plaintext.expose().starts_with("cnv_"));
        assert_eq!(issued.plaintext.expose().len(), 44);
        assert!(issued.plaintext.expose().starts_with(&issued.prefix));
        assert_eq!(Sha256ApiKeys.hash(issued.plaintext.expose()), issued.hash);
        assert_ne!(Sha256ApiKeys.issue().hash, issued.hash);
    }
}
