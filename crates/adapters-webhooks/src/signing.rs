//! Standard Webhooks signatures and secrets, through the specification's own crate.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::SecretString;
use rand::RngCore;

/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A new signing secret: `whsec_` and the base64 of [`SECRET_BYTES`] random bytes.
#[must_use]
pub fn new_secret() -> SecretString {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::new(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// A secret that is not `whsec_` and base64 (only a manual edit of the store could make one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is not in the whsec_<base64> form")]
pub struct MalformedSecret;

/// The `webhook-signature` header of `body` sent as `id` at `timestamp` (Unix seconds): one
/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, separated by spaces.
///
/// # Errors
/// [`MalformedSecret`].
pub fn signature_header(
    secrets: &[SecretString],
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, MalformedSecret> {
    let signatures = secrets
        .iter()
        .map(|secret| {
            standardwebhooks::Webhook::new(secret.expose())
                .and_then(|webhook| webhook.sign(id, timestamp, body.as_bytes()))
                .map_err(|_| MalformedSecret)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_secrets_are_whsec_and_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let encoded = a.expose().strip_prefix("whsec_").expect("the prefix");
        assert_eq!(STANDARD.decode(encoded).unwrap().len(), 32);
    }

    #[test]
    fn signs_as_the_specification_example() {
        // The example of the Standard Webhooks specification.
        let secret = SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        let header =
            signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).unwrap();
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_secrets_give_two_signatures() {
        let secrets = [new_secret(), new_secret()];
        let header = signature_header(&secrets, "id", 1, "{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_eq!(signature_header(&[SecretString::new("whsec_!!")], "id", 1, "{}"), Err(MalformedSecret));
    }
}
