//! Validation of Twilio's webhook signatures (`X-Twilio-Signature`), computed exactly as
//! Twilio's official helper libraries' `RequestValidator` does it.
//!
//! Twilio signs each webhook with the account's auth token: HMAC-SHA1 over the full URL it
//! requested followed by every POST parameter, sorted by name, written as name then value
//! (a name that repeats appears once per distinct value, values sorted), then base64. Because
//! Twilio is inconsistent about writing the default port, the URL is checked both without its
//! port and with the scheme's default port (443 for https, 80 otherwise), and either passes.
//! For a JSON body, the URL carries `bodySHA256` (the body's hex SHA-256) and the signature
//! covers the URL alone.
//!
//! The service runs behind proxies, so the URL must not be rebuilt from the `Host` header:
//! [`public_url`] joins the configured public base URL and the request's path and query.
//!
//! ```
//! use adapters_twilio::signature::{compute_signature, public_url, validate};
//! use domain::SecretString;
//!
//! let token = SecretString::new("12345678901234567890123456789012");
//! let url = public_url("https://conversa.example.com/", "/webhooks/twilio/inbound");
//! let params = vec![
//!     ("From".to_owned(), "+5511999998888".to_owned()),
//!     ("Body".to_owned(), "Olá!".to_owned()),
//! ];
//! let signature = compute_signature(&token, &url, &params);
//! assert!(validate(&token, &url, &params, &signature));
//! assert!(!validate(&token, "https://conversa.example.com/elsewhere", &params, &signature));
//! ```

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use domain::SecretString;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header carrying Twilio's signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The query parameter that carries a JSON body's hex SHA-256.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";

type HmacSha1 = Hmac<Sha1>;

/// Whether `signature` is Twilio's signature of a form-encoded webhook (`POST` parameters
/// `params`, in any order, repeated names allowed) sent to `url` and signed with `auth_token`.
///
/// `url` is the full URL Twilio requested, query string included (see [`public_url`]). The URL
/// passes with or without its default port. Comparison is in constant time.
#[must_use]
pub fn validate(auth_token: &SecretString, url: &str, params: &[(String, String)], signature: &str) -> bool {
    signature_matches(auth_token, url, &sorted_params(params), signature)
}

/// Whether `signature` is Twilio's signature of a webhook with a JSON `body` sent to `url`.
///
/// Such a URL carries the body's lowercase hex SHA-256 in its `bodySHA256` query parameter;
/// the signature covers the URL alone. Both must match: a URL without a (non-empty)
/// `bodySHA256` never passes.
#[must_use]
pub fn validate_json_body(auth_token: &SecretString, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(expected_hash) = query_value(url, BODY_SHA256_PARAM) else {
        return false;
    };
    let actual_hash = hex::encode(Sha256::digest(body));
    let hash_matches: bool = actual_hash.as_bytes().ct_eq(expected_hash.as_bytes()).into();
    let signature_matches = signature_matches(auth_token, url, b"", signature);
    hash_matches & signature_matches
}

/// Twilio's signature of a form-encoded request to exactly `url` (no port variants): what
/// Twilio would send in [`SIGNATURE_HEADER`]. Useful to sign requests in tests.
#[must_use]
pub fn compute_signature(auth_token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(mac(&keyed(auth_token), url, &sorted_params(params)))
}

/// The URL Twilio requested, rebuilt from the service's configured public base URL (scheme,
/// host, optional port and path prefix, as configured in Twilio's console) and the request's
/// path and query as the server received them. Never trust `Host` or `X-Forwarded-*` for this.
///
/// ```
/// use adapters_twilio::signature::public_url;
///
/// assert_eq!(
///     public_url("https://conversa.example.com/", "/webhooks/twilio/status?tenant=a"),
///     "https://conversa.example.com/webhooks/twilio/status?tenant=a"
/// );
/// assert_eq!(public_url("https://example.com/conversa", "/webhooks"), "https://example.com/conversa/webhooks");
/// ```
#[must_use]
pub fn public_url(base: &str, path_and_query: &str) -> String {
    let base = base.trim_end_matches('/');
    if path_and_query.starts_with('/') {
        format!("{base}{path_and_query}")
    } else {
        format!("{base}/{path_and_query}")
    }
}

/// Checks `signature` against the URL without its port and with its default port, without
/// short-circuiting.
fn signature_matches(auth_token: &SecretString, url: &str, sorted_params: &[u8], signature: &str) -> bool {
    let key = keyed(auth_token);
    let (without_port, with_port) = port_variants(url);
    let signature = signature.as_bytes();
    let a = BASE64.encode(mac(&key, &without_port, sorted_params));
    let b = BASE64.encode(mac(&key, &with_port, sorted_params));
    (a.as_bytes().ct_eq(signature) | b.as_bytes().ct_eq(signature)).into()
}

fn keyed(auth_token: &SecretString) -> HmacSha1 {
    HmacSha1::new_from_slice(auth_token.expose().as_bytes()).expect("HMAC accepts keys of any length")
}

fn mac(key: &HmacSha1, url: &str, sorted_params: &[u8]) -> [u8; 20] {
    let mut mac = key.clone();
    mac.update(url.as_bytes());
    mac.update(sorted_params);
    mac.finalize().into_bytes().into()
}

/// The parameters as signed: sorted by name, then value; a repeated identical pair counts once
/// (as in the official helpers, which sort a set of names and a set of values per name).
/// Rust's string order is Unicode code point order, like Python's.
fn sorted_params(params: &[(String, String)]) -> Vec<u8> {
    let mut pairs: Vec<(&str, &str)> =
        params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut text = Vec::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len()).sum());
    for (name, value) in pairs {
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(value.as_bytes());
    }
    text
}

/// The URL without its port and with its port (the scheme's default when none is written), as
/// the official helpers' `remove_port`/`add_port` write them. A URL that cannot be split into
/// scheme and authority is returned unchanged twice.
fn port_variants(url: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    let Some(parts) = UrlParts::split(url) else {
        return (Cow::Borrowed(url), Cow::Borrowed(url));
    };
    if parts.port.is_some() {
        let without_port = format!("{}{}{}", parts.before_host, parts.host, parts.rest);
        (Cow::Owned(without_port), Cow::Borrowed(url))
    } else {
        let default_port = if parts.scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
        let with_port = format!("{}{}:{default_port}{}", parts.before_host, parts.host, parts.rest);
        (Cow::Borrowed(url), Cow::Owned(with_port))
    }
}

/// `scheme://userinfo@host:port/rest`, cut where the port logic needs it.
#[derive(Debug, PartialEq, Eq)]
struct UrlParts<'a> {
    scheme: &'a str,
    /// `scheme://` and any `userinfo@`.
    before_host: &'a str,
    /// The host, brackets included for IPv6.
    host: &'a str,
    /// The digits of an explicit port.
    port: Option<&'a str>,
    /// Path, query and fragment, from the first `/`, `?` or `#` on.
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Option<Self> {
        let scheme_end = url.find("://")?;
        let authority_start = scheme_end + 3;
        let authority_len =
            url[authority_start..].find(['/', '?', '#']).unwrap_or(url.len() - authority_start);
        let authority_end = authority_start + authority_len;
        let authority = &url[authority_start..authority_end];
        let host_start = authority_start + authority.rfind('@').map_or(0, |at| at + 1);
        let host_port = &url[host_start..authority_end];
        let port_colon = match host_port.rfind(':') {
            Some(colon) if !host_port[colon..].contains(']') => Some(colon),
            _ => None,
        };
        let (host, port) = match port_colon {
            Some(colon) => {
                let digits = &host_port[colon + 1..];
                let port =
                    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits);
                (&host_port[..colon], port)
            }
            None => (host_port, None),
        };
        // A trailing `:` without digits is no port: keep it in the host so nothing is lost.
        let host = if port.is_none() { host_port } else { host };
        Some(Self {
            scheme: &url[..scheme_end],
            before_host: &url[..host_start],
            host,
            port,
            rest: &url[authority_end..],
        })
    }
}

/// The first non-empty value of `name` in `url`'s query string, percent-decoded.
fn query_value<'a>(url: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(url: &str) -> (String, String) {
        let (a, b) = port_variants(url);
        (a.into_owned(), b.into_owned())
    }

    #[test]
    fn adds_the_default_port_or_removes_the_written_one() {
        let plain = "https://h.example.com/webhooks/twilio?x=1";
        assert_eq!(
            variants(plain),
            (plain.to_owned(), "https://h.example.com:443/webhooks/twilio?x=1".into())
        );
        assert_eq!(
            variants("http://localhost:80/a"),
            ("http://localhost/a".into(), "http://localhost:80/a".into())
        );
        assert_eq!(
            variants("https://h.example.com:8443"),
            ("https://h.example.com".into(), "https://h.example.com:8443".into())
        );
        assert_eq!(variants("http://h?q=a:1"), ("http://h?q=a:1".into(), "http://h:80?q=a:1".into()));
    }

    #[test]
    fn keeps_userinfo_and_ipv6_hosts_intact() {
        assert_eq!(
            variants("https://user:pass@h.example.com/a"),
            ("https://user:pass@h.example.com/a".into(), "https://user:pass@h.example.com:443/a".into())
        );
        assert_eq!(variants("http://[::1]:8080/a"), ("http://[::1]/a".into(), "http://[::1]:8080/a".into()));
        assert_eq!(variants("http://[::1]/a"), ("http://[::1]/a".into(), "http://[::1]:80/a".into()));
        assert_eq!(variants("not a url"), ("not a url".into(), "not a url".into()));
    }

    #[test]
    fn params_sort_by_name_then_value_and_repeat_once_per_value() {
        let params: Vec<(String, String)> = [("b", "2"), ("a", "z"), ("a", "y"), ("B", "1"), ("a", "y")]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(sorted_params(&params), b"B1ayazb2");
    }

    #[test]
    fn finds_the_body_hash_in_the_query() {
        assert_eq!(
            query_value("https://h/a?x=1&bodySHA256=ab%63#frag", "bodySHA256").as_deref(),
            Some("abc")
        );
        assert_eq!(query_value("https://h/a?bodySHA256=&bodySHA256=de", "bodySHA256").as_deref(), Some("de"));
        assert_eq!(query_value("https://h/a", "bodySHA256"), None);
    }

    #[test]
    fn a_json_body_without_a_hash_in_the_url_never_passes() {
        let token = SecretString::new("secret");
        let url = "https://h.example.com/webhooks";
        let signature = compute_signature(&token, url, &[]);
        assert!(!validate_json_body(&token, url, b"{}", &signature));
    }

    #[test]
    fn public_url_joins_without_doubling_slashes() {
        assert_eq!(public_url("https://h", "/a?b=c"), "https://h/a?b=c");
        assert_eq!(public_url("https://h/", "a"), "https://h/a");
        assert_eq!(public_url("https://h:8443/prefix/", "/a"), "https://h:8443/prefix/a");
    }
}

/// The [`ports::WebhookVerifier`] port over [`validate`]: Twilio's signature of a form-encoded
/// webhook.
#[derive(Clone, Copy, Debug, Default)]
pub struct TwilioSignatureVerifier;

impl ports::WebhookVerifier for TwilioSignatureVerifier {
    fn verify(
        &self,
        auth_token: &SecretString,
        url: &str,
        params: &[(String, String)],
        signature: &str,
    ) -> bool {
        validate(auth_token, url, params, signature)
    }
}
