//! `conversa simulate`: sends a running server the webhooks Twilio would send (an inbound
//! message, a delivery-status callback), signed with the account's auth token exactly as Twilio
//! signs them, so the service can be tried without a Twilio account or a public URL.
//!
//! The account defaults to the demo account `conversa seed` creates, so after `scripts/run`
//! `conversa simulate inbound --from +5511987650002 --to +5511940000001 --body "Oi"` just works.

use std::sync::Arc;
use std::time::Duration;

use adapters_twilio::{SIGNATURE_HEADER, compute_signature};
use anyhow::Context;
use domain::SecretString;
use rustls_platform_verifier::BuilderVerifierExt;

/// The demo Twilio account's SID (`conversa seed`).
pub const DEMO_ACCOUNT_SID: &str = "AC00000000000000000000000000000a01";
/// The demo Twilio account's auth token (`conversa seed`).
pub const DEMO_AUTH_TOKEN: &str = "0000000000000000000000000000a001";
/// The demo Twilio account's business number (`conversa seed`).
pub const DEMO_BUSINESS_NUMBER: &str = "+5511940000001";

/// The inbound-message webhook's path.
pub const INBOUND_PATH: &str = "/webhooks/twilio/inbound";
/// The delivery-status webhook's path.
pub const STATUS_PATH: &str = "/webhooks/twilio/status";

/// Where and as whom a simulated webhook is sent.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The server's base URL, as Twilio would call it (the signature covers it). Default: the
    /// configured public base URL (`CONVERSA_PUBLIC_BASE_URL`).
    #[arg(long)]
    pub url: Option<String>,
    /// The Twilio Account SID the webhook claims to come from.
    #[arg(long, default_value = DEMO_ACCOUNT_SID)]
    pub account_sid: String,
    /// That account's auth token, which signs the webhook.
    #[arg(long, default_value = DEMO_AUTH_TOKEN)]
    pub auth_token: String,
}

/// The webhooks `conversa simulate` sends.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SimulateCommand {
    /// A customer's message to a business number (`/webhooks/twilio/inbound`); prints the TwiML answer.
    Inbound {
        /// The business number the customer writes to (`whatsapp:+55…` for WhatsApp).
        #[arg(long)]
        to: String,
        /// The customer's number.
        #[arg(long)]
        from: String,
        /// The message's text.
        #[arg(long)]
        body: String,
        /// Twilio's MessageSid. Default: a random `SM…`.
        #[arg(long)]
        message_sid: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// A delivery-status callback for a sent message (`/webhooks/twilio/status`).
    Status {
        /// The sent message's MessageSid (its `provider_sid`).
        #[arg(long)]
        message_sid: String,
        /// `queued`, `sent`, `delivered`, `read`, `undelivered`, `failed`, …
        #[arg(long)]
        status: String,
        /// Twilio's error code, for `undelivered` or `failed`.
        #[arg(long)]
        error_code: Option<u32>,
        #[command(flatten)]
        target: Target,
    },
}

/// A signed webhook, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The full URL (and the one the signature covers).
    pub url: String,
    /// The form parameters, in order.
    pub params: Vec<(String, String)>,
    /// The `X-Twilio-Signature` value.
    pub signature: String,
}

impl Webhook {
    fn signed(base_url: &str, path: &str, auth_token: &str, params: Vec<(String, String)>) -> Self {
        let url = format!("{}{path}", base_url.trim_end_matches('/'));
        let signature = compute_signature(&SecretString::new(auth_token), &url, &params);
        Self { url, params, signature }
    }

    /// The webhook for `command`, with `default_url` when the command names no URL.
    #[must_use]
    pub fn for_command(command: &SimulateCommand, default_url: &str) -> Self {
        let pair = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        match command {
            SimulateCommand::Inbound { to, from, body, message_sid, target } => {
                let sid = message_sid.clone().unwrap_or_else(random_message_sid);
                let params = vec![
                    pair("AccountSid", &target.account_sid),
                    pair("MessageSid", &sid),
                    pair("From", from),
                    pair("To", to),
                    pair("Body", body),
                    pair("NumMedia", "0"),
                ];
                let base = target.url.as_deref().unwrap_or(default_url);
                Self::signed(base, INBOUND_PATH, &target.auth_token, params)
            }
            SimulateCommand::Status { message_sid, status, error_code, target } => {
                let mut params = vec![
                    pair("AccountSid", &target.account_sid),
                    pair("MessageSid", message_sid),
                    pair("MessageStatus", status),
                ];
                if let Some(code) = error_code {
                    params.push(pair("ErrorCode", &code.to_string()));
                }
                let base = target.url.as_deref().unwrap_or(default_url);
                Self::signed(base, STATUS_PATH, &target.auth_token, params)
            }
        }
    }

    /// Posts the webhook form-encoded, as Twilio does; returns the status and the body.
    ///
    /// # Errors
    /// When the server cannot be reached or its answer cannot be read.
    pub async fn send(&self, client: &reqwest::Client) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let response = client
            .post(&self.url)
            .header(SIGNATURE_HEADER, &self.signature)
            .form(&self.params)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status();
        let body = response.text().await.context("cannot read the answer")?;
        Ok((status, body))
    }
}

/// A random MessageSid: `SM` and 32 hex digits.
#[must_use]
pub fn random_message_sid() -> String {
    format!("SM{:032x}", rand::random::<u128>())
}

/// An HTTP client: rustls with the ring provider and the platform's certificates (https works
/// too), no redirects, a 10-second timeout.
///
/// # Errors
/// When TLS cannot be set up.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("conversa-simulate/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Sends the webhook for `command` and prints the status and the answer.
///
/// # Errors
/// When the server cannot be reached or does not answer 2xx.
pub async fn run(command: &SimulateCommand, default_url: &str) -> anyhow::Result<()> {
    let webhook = Webhook::for_command(command, default_url);
    if let SimulateCommand::Inbound { .. } = command {
        let sid = webhook.params.iter().find(|(name, _)| name == "MessageSid").map(|(_, v)| v.as_str());
        eprintln!("POST {} (MessageSid {})", webhook.url, sid.unwrap_or_default());
    } else {
        eprintln!("POST {}", webhook.url);
    }
    let (status, body) = webhook.send(&http_client()?).await?;
    println!("HTTP {status}");
    println!("{body}");
    anyhow::ensure!(status.is_success(), "the server answered {status}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: Option<&str>) -> Target {
        Target {
            url: url.map(str::to_owned),
            account_sid: DEMO_ACCOUNT_SID.to_owned(),
            auth_token: DEMO_AUTH_TOKEN.to_owned(),
        }
    }

    #[test]
    fn inbound_webhooks_are_signed_over_the_url_and_every_parameter() {
        let command = SimulateCommand::Inbound {
            to: DEMO_BUSINESS_NUMBER.to_owned(),
            from: "+5511987650002".to_owned(),
            body: "Oi, tudo bem?".to_owned(),
            message_sid: None,
            target: target(None),
        };
        let webhook = Webhook::for_command(&command, "http://localhost:8080/");
        assert_eq!(webhook.url, "http://localhost:8080/webhooks/twilio/inbound");
        let names: Vec<_> = webhook.params.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["AccountSid", "MessageSid", "From", "To", "Body", "NumMedia"]);
        let sid = &webhook.params[1].1;
        assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
        let token = SecretString::new(DEMO_AUTH_TOKEN);
        assert!(adapters_twilio::validate(&token, &webhook.url, &webhook.params, &webhook.signature));
    }

    #[test]
    fn status_webhooks_go_to_the_named_url() {
        let command = SimulateCommand::Status {
            message_sid: "SMabc".to_owned(),
            status: "failed".to_owned(),
            error_code: Some(30003),
            target: target(Some("https://conversa.example.com")),
        };
        let webhook = Webhook::for_command(&command, "http://localhost:8080");
        assert_eq!(webhook.url, "https://conversa.example.com/webhooks/twilio/status");
        assert!(webhook.params.contains(&("ErrorCode".to_owned(), "30003".to_owned())));
        let token = SecretString::new(DEMO_AUTH_TOKEN);
        assert!(adapters_twilio::validate(&token, &webhook.url, &webhook.params, &webhook.signature));
    }

    #[test]
    fn random_sids_differ() {
        assert_ne!(random_message_sid(), random_message_sid());
    }
}
