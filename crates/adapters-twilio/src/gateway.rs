//! [`TwilioGateway`]: the [`MessagingGateway`] port over Twilio's Messages REST API.

use std::error::Error as _;
use std::sync::Arc;

use async_trait::async_trait;
use domain::{AccountSid, MessageId};
use ports::{GatewayError, MessagingGateway, OutboundEnvelope, SendReceipt};
use reqwest::{StatusCode, Url};
use rustls_platform_verifier::BuilderVerifierExt;

use crate::TwilioConfig;
use crate::response::{TwilioErrorBody, interpret, unreadable_acceptance};

/// The REST API version in Twilio's paths.
const API_VERSION: &str = "2010-04-01";

/// Why a [`TwilioGateway`] could not be built. Raised at start-up, never while sending.
#[derive(Debug, thiserror::Error)]
pub enum TwilioSetupError {
    /// `api_base_url` is not an `http(s)://host[:port]` URL without path, query or fragment.
    #[error("api_base_url `{0}` must be an http(s) URL with no path, query or fragment")]
    InvalidApiBaseUrl(String),
    /// `status_callback_url` is not an absolute http(s) URL.
    #[error("status_callback_url `{0}` must be an absolute http(s) URL")]
    InvalidStatusCallbackUrl(String),
    /// The TLS configuration (ring provider, platform certificate verifier) failed.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client setup failed: {0}")]
    Client(#[from] reqwest::Error),
}

/// Sends messages through Twilio (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`) with
/// the tenant's own credentials, carried by each [`OutboundEnvelope`].
///
/// One gateway serves every tenant; it holds a connection pool, so build it once and clone it
/// (clones share the pool). TLS is rustls with the `ring` provider and the platform's root
/// certificates; redirects are not followed.
///
/// Neither the auth token nor the message body is ever logged.
#[derive(Clone, Debug)]
pub struct TwilioGateway {
    client: reqwest::Client,
    api_base_url: Arc<str>,
    status_callback_url: Option<Arc<str>>,
}

impl TwilioGateway {
    /// Builds the gateway and its HTTP client.
    ///
    /// # Errors
    /// [`TwilioSetupError`] when a URL of `config` is unusable or TLS cannot be set up.
    pub fn new(config: &TwilioConfig) -> Result<Self, TwilioSetupError> {
        let api_base_url = checked_api_base_url(&config.api_base_url)?;
        let status_callback_url = config
            .status_callback_url
            .as_deref()
            .map(|url| checked_callback_url(url).map(Arc::from))
            .transpose()?;
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_platform_verifier()?
                .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("conversa-adapters-twilio/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, api_base_url: api_base_url.into(), status_callback_url })
    }

    /// `{api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    fn messages_url(&self, account: &AccountSid) -> String {
        format!("{}/{API_VERSION}/Accounts/{}/Messages.json", self.api_base_url, account.as_str())
    }

    /// The form Twilio's Create Message takes, in a stable order.
    fn form<'a>(&'a self, envelope: &'a OutboundEnvelope) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
        let mut form = vec![("To", envelope.to.to_twilio().into())];
        // A Messaging Service picks the sender from its pool: Twilio takes it instead of From.
        match &envelope.credentials.sender_pool {
            Some(service) => form.push(("MessagingServiceSid", service.as_str().into())),
            None => form.push(("From", envelope.from.to_twilio().into())),
        }
        if let Some(template) = &envelope.template {
            form.push(("ContentSid", template.content_sid.as_str().into()));
            form.push(("ContentVariables", template.content_variables().into()));
        } else {
            if let Some(body) = &envelope.body {
                form.push(("Body", body.as_str().into()));
            }
            form.extend(envelope.media_urls.iter().map(|url| ("MediaUrl", url.as_str().into())));
        }
        if let Some(callback) = &self.status_callback_url {
            form.push(("StatusCallback", status_callback(callback, envelope.message_id).into()));
        }
        form
    }
}

#[async_trait]
impl MessagingGateway for TwilioGateway {
    /// Creates the message at Twilio.
    ///
    /// # Errors
    /// - [`GatewayError::Retryable`]: HTTP 408, 429 or 5xx, a timeout, a connection failure.
    /// - [`GatewayError::Permanent`] with Twilio's code: any other 4xx (21211 invalid number,
    ///   21610 unsubscribed recipient, 20003 bad credentials…).
    /// - [`GatewayError::Permanent`] without a code: the envelope's account is not an Account
    ///   SID, or Twilio accepted the message but its answer was unreadable (retrying could send
    ///   the message twice).
    #[tracing::instrument(
        name = "twilio.send_message",
        skip_all,
        fields(owner_id = %envelope.owner_id, message_id = %envelope.message_id, channel = %envelope.to.channel)
    )]
    async fn send(&self, envelope: OutboundEnvelope) -> Result<SendReceipt, GatewayError> {
        let account = AccountSid::parse(&envelope.credentials.account).map_err(|err| {
            GatewayError::Permanent { code: None, reason: format!("invalid Twilio credentials: {err}") }
        })?;
        let response = self
            .client
            .post(self.messages_url(&account))
            .basic_auth(account.as_str(), Some(envelope.credentials.secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&self.form(&envelope))
            .send()
            .await
            .map_err(transport_failure)?;
        let status = response.status();
        let result = match response.bytes().await {
            Ok(body) => {
                if !status.is_success() {
                    log_error_answer(status, &body);
                }
                interpret(status, &body)
            }
            Err(err) if status.is_success() => Err(unreadable_acceptance(status, &chain(&err.without_url()))),
            Err(_) => interpret(status, b""),
        };
        match &result {
            Ok(receipt) => {
                tracing::debug!(provider_sid = %receipt.provider_sid, status = %receipt.status, "Twilio took the message");
            }
            Err(GatewayError::Permanent { code: None, reason }) if status.is_success() => {
                tracing::error!(http_status = status.as_u16(), %reason, "Twilio's acceptance was unreadable");
            }
            Err(_) => {}
        }
        result
    }
}

/// Logs a non-2xx answer: HTTP status, Twilio's error code and documentation link. Twilio's
/// message text is left out of the log (it often quotes the recipient's number); it goes back
/// to the caller as the error's reason.
fn log_error_answer(status: StatusCode, body: &[u8]) {
    let error = TwilioErrorBody::parse(body);
    tracing::warn!(
        http_status = status.as_u16(),
        twilio_code = error.code,
        more_info = error.more_info.as_deref(),
        "Twilio refused the request"
    );
}

/// A failure before Twilio answered: nothing says the message was not accepted, but nothing
/// says it was, and a message not sent is worse than one sent twice.
fn transport_failure(err: reqwest::Error) -> GatewayError {
    let what = if err.is_timeout() {
        "timed out reaching Twilio"
    } else if err.is_connect() {
        "could not connect to Twilio"
    } else {
        "request to Twilio failed"
    };
    let reason = format!("{what}: {}", chain(&err.without_url()));
    tracing::warn!(%reason, "Twilio could not be reached");
    GatewayError::Retryable { reason }
}

/// An error and its sources, `outer: inner: innermost`.
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The status callback URL of one message: the configured URL naming our message id. Twilio
/// signs the whole URL, query included, so the id comes back verified, and a callback that
/// arrives before the message's SID is stored still finds its message (and only within the
/// tenant of the account that signed it).
fn status_callback(url: &str, message_id: MessageId) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}message_id={message_id}")
}

fn checked_api_base_url(raw: &str) -> Result<String, TwilioSetupError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let invalid = || TwilioSetupError::InvalidApiBaseUrl(raw.to_owned());
    let url = Url::parse(trimmed).map_err(|_| invalid())?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.has_host()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if bare { Ok(trimmed.to_owned()) } else { Err(invalid()) }
}

fn checked_callback_url(raw: &str) -> Result<&str, TwilioSetupError> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(raw),
        _ => Err(TwilioSetupError::InvalidStatusCallbackUrl(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_bare_http_origins() {
        assert_eq!(checked_api_base_url("https://api.twilio.com/").unwrap(), "https://api.twilio.com");
        assert_eq!(checked_api_base_url("http://127.0.0.1:8089").unwrap(), "http://127.0.0.1:8089");
        for bad in
            ["api.twilio.com", "ftp://api.twilio.com", "https://api.twilio.com/2010-04-01", "https://h?x=1"]
        {
            assert!(checked_api_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn callback_urls_must_be_absolute() {
        assert!(checked_callback_url("https://conversa.example.com/webhooks/twilio/status").is_ok());
        assert!(checked_callback_url("/webhooks/twilio/status").is_err());
    }

    #[test]
    fn the_status_callback_names_the_message() {
        let id = MessageId::from_uuid(uuid::Uuid::from_u128(0x0193_8f2c_5a6b_7c8d_9e0f_1122_3344_5566));
        assert_eq!(
            status_callback("https://c.example/webhooks/twilio/status", id),
            "https://c.example/webhooks/twilio/status?message_id=01938f2c-5a6b-7c8d-9e0f-112233445566"
        );
        assert_eq!(
            status_callback("https://c.example/status?region=br", id),
            "https://c.example/status?region=br&message_id=01938f2c-5a6b-7c8d-9e0f-112233445566"
        );
    }

    #[test]
    fn builds_with_the_default_configuration() {
        let gateway = TwilioGateway::new(&TwilioConfig::default()).unwrap();
        let sid = AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            gateway.messages_url(&sid),
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
    }
}
