//! Secrets at rest: Twilio auth tokens encrypted with AES-256-GCM, API keys stored as SHA-256.
//!
//! A sealed token names the key that sealed it (ADR 0016), so a key can be replaced without
//! losing the tokens: `0x01 ‖ key id (8) ‖ nonce (12) ‖ ciphertext ‖ tag`, where the key id is
//! the first 8 bytes of SHA-256 over a label and the key, and the associated data binds the
//! header and the account (`owner_id ‖ id`), so a sealed token cannot be moved to another
//! account's row. Tokens sealed before key ids (`nonce ‖ ciphertext ‖ tag`, nothing bound) are
//! still read, with any configured key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use domain::{OwnerId, SecretString, TwilioAccountId};
use ports::{ApiKeyIssuer, IssuedApiKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

const NONCE_LEN: usize = 12;
const KEY_ID_LEN: usize = 8;
/// The first byte of a token sealed under a named key.
const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + KEY_ID_LEN;
/// Domain separation: the key id is a hash of the key made for this use only.
const KEY_ID_LABEL: &[u8] = b"conversa token key id v1\0";

/// An encryption key was not 32 bytes of hex.
#[derive(Debug, thiserror::Error)]
#[error("a token encryption key must be 64 hexadecimal characters (32 bytes)")]
pub struct InvalidKey;

#[derive(Clone)]
struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl Key {
    fn from_hex(key: &str) -> Result<Self, InvalidKey> {
        let bytes = hex::decode(key.trim()).map_err(|_| InvalidKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| InvalidKey)?;
        let digest = Sha256::new().chain_update(KEY_ID_LABEL).chain_update(&bytes).finalize();
        let mut id = [0_u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Ok(Self { id, cipher })
    }

    fn open(&self, nonce_and_sealed: &[u8], aad: &[u8]) -> Option<SecretString> {
        if nonce_and_sealed.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = nonce_and_sealed.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad }).ok()?;
        String::from_utf8(plain).ok().map(SecretString::new)
    }
}

/// The associated data of a named-key token: its header and the account it belongs to.
fn associated_data(header: &[u8], owner_id: OwnerId, row: Uuid) -> Vec<u8> {
    let owner = Uuid::from(owner_id);
    [header, owner.as_bytes().as_slice(), row.as_bytes().as_slice()].concat()
}

/// What [`TokenCipher::reseal`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resealed {
    /// Already sealed under the current key: nothing to write.
    Current,
    /// Readable with an older key or in the older format: the same token sealed anew under
    /// the current key.
    Resealed(Vec<u8>),
    /// No configured key opens it.
    Unreadable,
}

/// Encrypts and decrypts Twilio auth tokens: seals under the current key, opens with the
/// current key or any previous one. Each encryption uses a fresh random nonce.
#[derive(Clone)]
pub struct TokenCipher {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// A cipher from a 64-character hex key (from configuration), sealing under it.
    ///
    /// # Errors
    /// [`InvalidKey`].
    pub fn from_hex(key: &str) -> Result<Self, InvalidKey> {
        Ok(Self { current: Key::from_hex(key)?, previous: Vec::new() })
    }

    /// The same cipher, also opening tokens sealed under `keys` (keys replaced by the current
    /// one, until `conversa keys rotate` has re-sealed what they sealed).
    ///
    /// # Errors
    /// [`InvalidKey`] for the first malformed key.
    pub fn with_previous<'a>(mut self, keys: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidKey> {
        for key in keys {
            let key = Key::from_hex(key)?;
            if key.id != self.current.id && self.previous.iter().all(|known| known.id != key.id) {
                self.previous.push(key);
            }
        }
        Ok(self)
    }

    /// The current key's id, in hex: what a sealed token's header names (safe to log).
    #[must_use]
    pub fn key_id(&self) -> String {
        hex::encode(self.current.id)
    }

    /// Seals `secret` for the account `(owner_id, account_id)` under the current key:
    /// `0x01 ‖ key id ‖ nonce ‖ ciphertext+tag`.
    #[must_use]
    pub fn encrypt(&self, secret: &SecretString, owner_id: OwnerId, account_id: TwilioAccountId) -> Vec<u8> {
        self.seal(secret, owner_id, account_id.into())
    }

    /// Seals a secret of the tenant's row `row` (a webhook endpoint's signing secret) exactly
    /// as [`TokenCipher::encrypt`] seals a token: bound to the tenant and the row.
    #[must_use]
    pub fn seal(&self, secret: &SecretString, owner_id: OwnerId, row: Uuid) -> Vec<u8> {
        let mut header = [0_u8; HEADER_LEN];
        header[0] = VERSION;
        header[1..].copy_from_slice(&self.current.id);
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(&header, owner_id, row);
        let payload = Payload { msg: secret.expose().as_bytes(), aad: &aad };
        // AES-GCM refuses only plaintexts of gigabytes; a token is 32 characters.
        let sealed = self.current.cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        [header.as_slice(), nonce.as_slice(), sealed.as_slice()].concat()
    }

    /// Reverses [`TokenCipher::encrypt`] (and reads tokens sealed before key ids); `None` when
    /// no configured key opens it, or it was sealed for another account.
    #[must_use]
    pub fn decrypt(
        &self,
        stored: &[u8],
        owner_id: OwnerId,
        account_id: TwilioAccountId,
    ) -> Option<SecretString> {
        self.unseal(stored, owner_id, account_id.into())
    }

    /// Reverses [`TokenCipher::seal`]; `None` when no configured key opens it, or it was
    /// sealed for another row.
    #[must_use]
    pub fn unseal(&self, stored: &[u8], owner_id: OwnerId, row: Uuid) -> Option<SecretString> {
        self.open(stored, owner_id, row).map(|(secret, _)| secret)
    }

    /// Re-seals a stored token under the current key unless it already is (key rotation).
    #[must_use]
    pub fn reseal(&self, stored: &[u8], owner_id: OwnerId, row: Uuid) -> Resealed {
        match self.open(stored, owner_id, row) {
            Some((_, true)) => Resealed::Current,
            Some((secret, false)) => Resealed::Resealed(self.seal(&secret, owner_id, row)),
            None => Resealed::Unreadable,
        }
    }

    /// The token, and whether it is sealed under the current key in the current format.
    fn open(&self, stored: &[u8], owner_id: OwnerId, row: Uuid) -> Option<(SecretString, bool)> {
        if stored.len() > HEADER_LEN + NONCE_LEN && stored[0] == VERSION {
            let (header, rest) = stored.split_at(HEADER_LEN);
            if let Some(key) = self.keys().find(|key| key.id == header[1..]) {
                let aad = associated_data(header, owner_id, row);
                if let Some(secret) = key.open(rest, &aad) {
                    return Some((secret, key.id == self.current.id));
                }
            }
        }
        // Sealed before key ids: `nonce ‖ ciphertext+tag` under whichever key was configured
        // then. (One such token in 256 starts with the version byte by chance, hence the
        // fall-through.) The tag tells a wrong key.
        self.keys().find_map(|key| key.open(stored, &[])).map(|secret| (secret, false))
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
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
    const OLD: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    fn account(n: u128) -> (OwnerId, TwilioAccountId) {
        (OwnerId::from_uuid(Uuid::from_u128(n)), TwilioAccountId::from_uuid(Uuid::from_u128(n + 1000)))
    }

    /// How tokens were sealed before key ids: `nonce ‖ ciphertext+tag`, no associated data.
    fn legacy_seal(key: &str, secret: &str) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(&hex::decode(key).unwrap()).unwrap();
        let nonce = [7_u8; NONCE_LEN];
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce), secret.as_bytes()).unwrap();
        [nonce.as_slice(), sealed.as_slice()].concat()
    }

    #[test]
    fn tokens_round_trip_and_differ_each_time() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let (owner, id) = account(1);
        let token = SecretString::new("0123456789abcdef0123456789abcdef");
        let (a, b) = (cipher.encrypt(&token, owner, id), cipher.encrypt(&token, owner, id));
        assert_ne!(a, b, "fresh nonce each time");
        assert!(!a.windows(8).any(|w| w == b"01234567"), "no plaintext in the stored form");
        assert_eq!(cipher.decrypt(&a, owner, id), Some(token));
    }

    #[test]
    fn a_sealed_token_names_its_key() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let (owner, id) = account(1);
        let sealed = cipher.encrypt(&SecretString::new("secret"), owner, id);
        assert_eq!(sealed[0], VERSION);
        assert_eq!(hex::encode(&sealed[1..HEADER_LEN]), cipher.key_id());
        assert_eq!(cipher.key_id().len(), 16);
        assert_ne!(cipher.key_id(), TokenCipher::from_hex(OLD).unwrap().key_id());
        let digest = Sha256::digest(hex::decode(KEY).unwrap());
        assert_ne!(&sealed[1..HEADER_LEN], &digest[..KEY_ID_LEN], "not the bare hash of the key");
    }

    #[test]
    fn another_key_another_account_or_tampering_cannot_decrypt() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let other = TokenCipher::from_hex(&"ff".repeat(32)).unwrap();
        let (owner, id) = account(1);
        let mut sealed = cipher.encrypt(&SecretString::new("secret"), owner, id);
        assert_eq!(other.decrypt(&sealed, owner, id), None);
        let (other_owner, other_id) = account(2);
        assert_eq!(cipher.decrypt(&sealed, other_owner, id), None, "bound to its tenant");
        assert_eq!(cipher.decrypt(&sealed, owner, other_id), None, "bound to its account");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(cipher.decrypt(&sealed, owner, id), None);
        assert_eq!(cipher.decrypt(&[1, 2, 3], owner, id), None);
        assert_eq!(cipher.decrypt(&[], owner, id), None);
    }

    #[test]
    fn previous_keys_and_the_older_format_are_read_and_resealed_under_the_current_key() {
        let (owner, id) = account(1);
        let token = SecretString::new("0123456789abcdef0123456789abcdef");
        let old = TokenCipher::from_hex(OLD).unwrap();
        let under_old_key = old.encrypt(&token, owner, id);
        let before_key_ids = legacy_seal(OLD, token.expose());
        let current_legacy = legacy_seal(KEY, token.expose());

        let current_only = TokenCipher::from_hex(KEY).unwrap();
        assert_eq!(current_only.decrypt(&under_old_key, owner, id), None);
        assert_eq!(
            current_only.decrypt(&current_legacy, owner, id),
            Some(token.clone()),
            "older format, current key"
        );
        assert_eq!(current_only.reseal(&before_key_ids, owner, id.into()), Resealed::Unreadable);

        let cipher = TokenCipher::from_hex(KEY).unwrap().with_previous([OLD, KEY, OLD]).unwrap();
        assert_eq!(cipher.previous.len(), 1, "the current key and repeats are not kept twice");
        for stored in [&under_old_key, &before_key_ids, &current_legacy] {
            assert_eq!(cipher.decrypt(stored, owner, id), Some(token.clone()));
            let Resealed::Resealed(resealed) = cipher.reseal(stored, owner, id.into()) else {
                panic!("not re-sealed")
            };
            assert_eq!(hex::encode(&resealed[1..HEADER_LEN]), cipher.key_id());
            assert_eq!(
                current_only.decrypt(&resealed, owner, id),
                Some(token.clone()),
                "the old key is not needed"
            );
            assert_eq!(cipher.reseal(&resealed, owner, id.into()), Resealed::Current, "idempotent");
        }
    }

    #[test]
    fn an_older_token_starting_with_the_version_byte_is_still_read() {
        let cipher = TokenCipher::from_hex(KEY).unwrap();
        let (owner, id) = account(1);
        let key = Aes256Gcm::new_from_slice(&hex::decode(KEY).unwrap()).unwrap();
        let nonce = [VERSION; NONCE_LEN];
        let sealed = key.encrypt(Nonce::from_slice(&nonce), b"secret".as_slice()).unwrap();
        let stored = [nonce.as_slice(), sealed.as_slice()].concat();
        assert_eq!(cipher.decrypt(&stored, owner, id), Some(SecretString::new("secret")));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(TokenCipher::from_hex("abc").is_err());
        assert!(TokenCipher::from_hex(&"zz".repeat(32)).is_err());
        assert!(TokenCipher::from_hex(KEY).unwrap().with_previous(["abc"]).is_err());
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
