//! What Twilio's answer to `POST …/Messages.json` means for the message: a receipt, a failure
//! worth retrying, or a refusal. Pure, so every rule is tested without HTTP.

use std::fmt::Write as _;

use domain::DeliveryStatus;
use ports::{GatewayError, SendReceipt};
use reqwest::StatusCode;
use serde::Deserialize;

/// The part of Twilio's Message resource the service keeps.
#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: String,
    status: Option<String>,
}

/// Twilio's error document: `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TwilioErrorBody {
    pub(crate) code: Option<i32>,
    pub(crate) message: Option<String>,
    pub(crate) more_info: Option<String>,
}

impl TwilioErrorBody {
    /// The error document in `body`, or an empty one when it is not JSON of that shape.
    pub(crate) fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

/// Twilio's error for a free-form WhatsApp message outside the customer's 24-hour window.
pub const OUTSIDE_WHATSAPP_WINDOW: i32 = 63016;

/// Maps the HTTP status and body of Twilio's answer to the port's result.
///
/// - 2xx with a `sid`: a [`SendReceipt`]; an unknown or missing `status` counts as `queued`.
/// - 2xx that cannot be read: [`GatewayError::Permanent`] with no code. Twilio accepted the
///   message, so sending it again would send it twice; the reason says so.
/// - 408, 429 and 5xx: [`GatewayError::Retryable`].
/// - Any other 4xx: [`GatewayError::Permanent`] with Twilio's error code and message.
/// - Twilio's 63016 (a free-form WhatsApp message outside the 24-hour window) is permanent
///   whatever the HTTP status: retrying cannot reopen the window, only a template can.
/// - 1xx/3xx (redirects are not followed): [`GatewayError::Retryable`]; nothing was accepted.
pub(crate) fn interpret(status: StatusCode, body: &[u8]) -> Result<SendReceipt, GatewayError> {
    if status.is_success() {
        return parse_receipt(status, body);
    }
    let error = TwilioErrorBody::parse(body);
    let described = describe(status, &error);
    let retryable = error.code != Some(OUTSIDE_WHATSAPP_WINDOW)
        && (!status.is_client_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT);
    if retryable {
        Err(GatewayError::Retryable { reason: described })
    } else {
        let reason = error.message.filter(|m| !m.trim().is_empty()).unwrap_or(described);
        Err(GatewayError::Permanent { code: error.code, reason })
    }
}

fn parse_receipt(status: StatusCode, body: &[u8]) -> Result<SendReceipt, GatewayError> {
    match serde_json::from_slice::<MessageResource>(body) {
        Ok(message) if !message.sid.trim().is_empty() => Ok(SendReceipt {
            provider_sid: message.sid,
            status: message.status.and_then(|s| s.parse().ok()).unwrap_or(DeliveryStatus::Queued),
        }),
        Ok(_) => Err(unreadable_acceptance(status, "the message sid is empty")),
        Err(err) => Err(unreadable_acceptance(status, &err.to_string())),
    }
}

/// Twilio said yes but its answer is unusable: refusing to retry is the only way not to send
/// the message twice.
pub(crate) fn unreadable_acceptance(status: StatusCode, what: &str) -> GatewayError {
    GatewayError::Permanent {
        code: None,
        reason: format!(
            "Twilio accepted the message (HTTP {}) but its answer could not be read ({what}); \
             not retried, since the message may already be on its way",
            status.as_u16()
        ),
    }
}

/// `HTTP 429 Too Many Requests (Twilio error 20429): Too many requests`.
fn describe(status: StatusCode, error: &TwilioErrorBody) -> String {
    let mut text = format!("HTTP {status}");
    if let Some(code) = error.code {
        let _ = write!(text, " (Twilio error {code})");
    }
    if let Some(message) = error.message.as_deref().filter(|m| !m.trim().is_empty()) {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_json(code: i32, message: &str, status: u16) -> Vec<u8> {
        serde_json::json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_created_message_becomes_a_receipt() {
        let body = br#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","body":"hi"}"#;
        let receipt = interpret(StatusCode::CREATED, body).unwrap();
        assert_eq!(receipt.provider_sid, "SM0123456789abcdef0123456789abcdef");
        assert_eq!(receipt.status, DeliveryStatus::Queued);

        let accepted = interpret(StatusCode::CREATED, br#"{"sid":"SM1","status":"accepted"}"#).unwrap();
        assert_eq!(accepted.status, DeliveryStatus::Accepted);
    }

    #[test]
    fn unknown_or_missing_status_counts_as_queued() {
        let odd = interpret(StatusCode::CREATED, br#"{"sid":"SM1","status":"partially_delivered"}"#);
        assert_eq!(odd.unwrap().status, DeliveryStatus::Queued);
        let missing = interpret(StatusCode::OK, br#"{"sid":"SM1","status":null}"#);
        assert_eq!(missing.unwrap().status, DeliveryStatus::Queued);
    }

    #[test]
    fn an_unreadable_acceptance_is_not_retried() {
        for body in [&b"<html>proxy</html>"[..], br#"{"status":"queued"}"#, br#"{"sid":"  "}"#, b""] {
            let err = interpret(StatusCode::CREATED, body).unwrap_err();
            assert!(
                matches!(&err, GatewayError::Permanent { code: None, reason } if reason.contains("HTTP 201"))
            );
        }
    }

    #[test]
    fn client_errors_are_permanent_with_twilio_code_and_message() {
        let cases = [
            (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
            (400, 21610, "Attempt to send to unsubscribed recipient"),
            (401, 20003, "Authenticate"),
            (404, 20404, "The requested resource was not found"),
        ];
        for (http, code, message) in cases {
            let status = StatusCode::from_u16(http).unwrap();
            let err = interpret(status, &error_json(code, message, http)).unwrap_err();
            assert_eq!(err, GatewayError::Permanent { code: Some(code), reason: message.to_owned() });
        }
    }

    #[test]
    fn a_message_outside_whatsapps_window_is_permanent_whatever_the_http_status() {
        let message =
            "Message failed to send because more than 24 hours have passed since the customer last replied";
        for status in
            [StatusCode::BAD_REQUEST, StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE]
        {
            let err = interpret(status, &error_json(OUTSIDE_WHATSAPP_WINDOW, message, status.as_u16()))
                .unwrap_err();
            assert_eq!(
                err,
                GatewayError::Permanent { code: Some(63016), reason: message.to_owned() },
                "{status}"
            );
        }
    }

    #[test]
    fn a_client_error_without_a_twilio_document_is_still_permanent() {
        let err = interpret(StatusCode::FORBIDDEN, b"forbidden").unwrap_err();
        assert_eq!(err, GatewayError::Permanent { code: None, reason: "HTTP 403 Forbidden".to_owned() });
    }

    #[test]
    fn rate_limits_server_errors_and_redirects_are_retryable() {
        let err = interpret(StatusCode::TOO_MANY_REQUESTS, &error_json(20429, "Too Many Requests", 429));
        assert_eq!(
            err.unwrap_err(),
            GatewayError::Retryable {
                reason: "HTTP 429 Too Many Requests (Twilio error 20429): Too Many Requests".to_owned()
            }
        );
        for status in [500, 502, 503, 504, 408, 301, 307] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(interpret(status, b"").unwrap_err().is_retryable(), "{status}");
        }
    }
}
