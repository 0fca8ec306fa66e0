//! [`HttpWebhookSender`]: posts signed webhooks with the guarded client.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::{AttemptOutcome, SecretString, WebhookAttempt, WebhookUrl};
use ports::{OutgoingWebhook, TargetRefused, WebhookResponse, WebhookSender};
use rustls_platform_verifier::BuilderVerifierExt;
use url::Host;

use crate::ip::is_public;
use crate::resolver::{GuardedResolver, RefusedAddress, resolve_checked};
use crate::signing::{new_secret, signature_header};

/// How the sender behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderSettings {
    /// The whole attempt, connection included: an answer later than this is a failure.
    pub timeout: Duration,
    /// The most bytes of an answer read (the rest is not waited for).
    pub max_response_bytes: usize,
    /// Admit `http` URLs (development and tests only).
    pub allow_http: bool,
    /// Admit addresses outside the public internet (development and tests only).
    pub allow_private_addresses: bool,
}

impl SenderSettings {
    /// `CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS`: both `http` and private addresses, or neither.
    #[must_use]
    pub fn with_private_targets(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self.allow_private_addresses = allow;
        self
    }
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            allow_http: false,
            allow_private_addresses: false,
        }
    }
}

/// The sender could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// The TLS configuration (ring provider, platform certificate verifier) failed.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client setup failed: {0}")]
    Client(#[from] reqwest::Error),
}

/// Signs (Standard Webhooks) and posts webhooks, reaching only public addresses unless
/// configured otherwise. Clones share the connection pool.
#[derive(Clone, Debug)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    settings: SenderSettings,
}

impl HttpWebhookSender {
    /// A sender with `settings`.
    ///
    /// # Errors
    /// [`WebhookSetupError`].
    pub fn new(settings: SenderSettings) -> Result<Self, WebhookSetupError> {
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_platform_verifier()?
                .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(GuardedResolver { allow_private: settings.allow_private_addresses }))
            // A proxy would resolve the name itself, past the resolver's check.
            .no_proxy()
            .https_only(!settings.allow_http)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("Conversa-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, settings })
    }

    /// A literal IP host that may not be reached (the resolver never sees those).
    fn refused_literal(&self, url: &WebhookUrl) -> Option<std::net::IpAddr> {
        if self.settings.allow_private_addresses {
            return None;
        }
        let ip = match url.url().host()? {
            Host::Ipv4(ip) => ip.into(),
            Host::Ipv6(ip) => ip.into(),
            Host::Domain(_) => return None,
        };
        (!is_public(ip)).then_some(ip)
    }

    /// Reads up to the cap of the answer; its first characters as the excerpt.
    async fn excerpt(&self, mut response: reqwest::Response) -> Option<String> {
        let mut body = Vec::new();
        while body.len() < self.settings.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(self.settings.max_response_bytes);
        let text: String =
            String::from_utf8_lossy(&body).chars().take(WebhookAttempt::EXCERPT_CHARS).collect();
        (!text.is_empty()).then_some(text)
    }
}

/// An error with its causes, as one line: reqwest's own text alone hides the reason
/// ("error sending request").
fn with_causes(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn millis(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_millis()).unwrap_or(u32::MAX)
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), TargetRefused> {
        if self.settings.allow_private_addresses {
            return Ok(());
        }
        let host = url.url().host_str().unwrap_or_default().to_owned();
        if let Some(ip) = self.refused_literal(url) {
            return Err(TargetRefused::PrivateAddress { host, address: ip.to_string() });
        }
        let Some(Host::Domain(name)) = url.url().host() else { return Ok(()) };
        // Registration is stricter than delivery: a name with any non-public address is
        // refused, not only one with no public address left.
        let found = resolve_checked(name, true).await.map_err(|e| match e {
            RefusedAddress::Unresolvable { host, .. } | RefusedAddress::NotPublic { host, .. } => {
                TargetRefused::Unresolvable(host)
            }
        })?;
        match found.iter().find(|addr| !is_public(addr.ip())) {
            Some(addr) => Err(TargetRefused::PrivateAddress { host, address: addr.ip().to_string() }),
            None => Ok(()),
        }
    }

    async fn send(&self, webhook: &OutgoingWebhook) -> WebhookResponse {
        let started = Instant::now();
        let failed = |error: String, started: Instant| WebhookResponse {
            outcome: AttemptOutcome::TransportError { error },
            latency_ms: millis(started),
            excerpt: None,
        };
        if let Some(ip) = self.refused_literal(&webhook.url) {
            return failed(format!("refused address {ip}: not a public address"), started);
        }
        let id = webhook.webhook_id.to_string();
        let timestamp = webhook.timestamp.timestamp();
        let signature = match signature_header(&webhook.secrets, &id, timestamp, &webhook.body) {
            Ok(signature) => signature,
            Err(error) => return failed(error.to_string(), started),
        };
        let request = self
            .client
            .post(webhook.url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(webhook.body.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let latency_ms = millis(started);
                let excerpt = self.excerpt(response).await;
                let outcome = if (200..300).contains(&status) {
                    AttemptOutcome::Succeeded { status }
                } else {
                    AttemptOutcome::HttpError { status }
                };
                WebhookResponse { outcome, latency_ms, excerpt }
            }
            Err(error) => failed(with_causes(&error, self.settings.timeout), started),
        }
    }

    fn new_secret(&self) -> SecretString {
        new_secret()
    }
}
