//! How the gateway reaches Twilio.

use std::time::Duration;

/// Twilio's production REST API.
pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";

/// Settings of the [`TwilioGateway`](crate::TwilioGateway). The per-tenant Account SID and auth
/// token are not here: they travel with each message (`OutboundEnvelope::credentials`).
///
/// ```
/// use std::time::Duration;
/// use adapters_twilio::TwilioConfig;
///
/// let config = TwilioConfig {
///     status_callback_url: Some("https://conversa.example.com/webhooks/twilio/status".into()),
///     ..TwilioConfig::default()
/// };
/// assert_eq!(config.api_base_url, "https://api.twilio.com");
/// assert_eq!(config.request_timeout, Duration::from_secs(15));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioConfig {
    /// Scheme, host and optional port of the REST API, without a path
    /// (default [`DEFAULT_API_BASE_URL`]; tests point it at a local fake).
    pub api_base_url: String,
    /// Sent as `StatusCallback` with every message, so Twilio posts delivery statuses there
    /// (for example `{public_base_url}/webhooks/twilio/status`). `None` sends none.
    pub status_callback_url: Option<String>,
    /// Longest wait for a TCP and TLS connection to be established.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, connection included, until the response body is read.
    pub request_timeout: Duration,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            api_base_url: DEFAULT_API_BASE_URL.to_owned(),
            status_callback_url: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        }
    }
}
