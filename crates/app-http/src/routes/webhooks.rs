//! Twilio's webhooks: inbound messages and delivery-status callbacks. Both identify the tenant
//! by `AccountSid`, check `X-Twilio-Signature` with that account's token against the URL built
//! from the configured public base URL (never the Host header), and store nothing otherwise.
//! Every webhook's outcome, refusals included, is counted in the metrics.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, post, web};
use adapters_twilio::SIGNATURE_HEADER;
use domain::Media;
use ports::{DeliveryUpdate, WebhookAccount};
use services::{DeliveryCallback, InboundMessage, InboundOutcome};

use crate::extract::RawBody;
use crate::problem::ApiError;
use crate::state::AppState;

/// The fields of a form-encoded webhook, in order (repeated names kept).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(bytes: &[u8]) -> Self {
        Self(form_urlencoded::parse(bytes).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn required(&self, name: &'static str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ApiError::invalid(name, format!("the `{name}` field is required")))
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).filter(|value| !value.is_empty()).map(str::to_owned)
    }
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "invalid_signature", "Forbidden", detail)
}

/// Reads the form, finds the account and checks the signature. Nothing is stored before this
/// succeeds.
async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<(WebhookAccount, Form), ApiError> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "Twilio webhooks are application/x-www-form-urlencoded",
        ));
    }
    let form = Form::parse(body);
    let account_sid = form.required("AccountSid")?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| forbidden("the X-Twilio-Signature header is missing"))?;
    // An unknown account gets the same answer as a bad signature: nothing to tell a prober.
    let account =
        state.webhooks.resolve_account(account_sid).await?.ok_or_else(|| forbidden("invalid signature"))?;
    let path_and_query = req.uri().path_and_query().map_or(req.path(), |pq| pq.as_str());
    let url = adapters_twilio::public_url(&state.public_base_url, path_and_query);
    if !adapters_twilio::validate(&account.credentials.auth_token, &url, &form.0, signature) {
        tracing::warn!(account_sid, "webhook signature rejected");
        return Err(forbidden("invalid signature"));
    }
    Ok((account, form))
}

fn media(form: &Form) -> Result<Vec<Media>, ApiError> {
    let count: usize = match form.get("NumMedia").filter(|v| !v.is_empty()) {
        None => 0,
        Some(raw) => raw.parse().map_err(|_| ApiError::invalid("NumMedia", "`NumMedia` must be a number"))?,
    };
    if count > domain::NewMessage::MAX_MEDIA {
        return Err(ApiError::invalid("NumMedia", "at most 10 attachments"));
    }
    (0..count)
        .map(|n| {
            let url = form.owned(&format!("MediaUrl{n}")).ok_or_else(|| {
                ApiError::invalid(format!("MediaUrl{n}"), format!("`MediaUrl{n}` is missing"))
            })?;
            Ok(Media { url, content_type: form.owned(&format!("MediaContentType{n}")) })
        })
        .collect()
}

fn twiml(reply: Option<&str>) -> HttpResponse {
    let body = match reply {
        None => r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#.to_owned(),
        Some(text) => format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>"#,
            escape_xml(text)
        ),
    };
    HttpResponse::Ok().insert_header((CONTENT_TYPE, "text/xml; charset=utf-8")).body(body)
}

fn escape_xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// An inbound SMS or WhatsApp message.
#[utoipa::path(
    operation_id = "twilio_inbound",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Twilio's inbound message parameters"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    responses(
        (status = 200, description = "Stored (or already stored); TwiML", content_type = "text/xml"),
        (status = 403, description = "Unknown account or invalid signature; nothing stored"),
        (status = 422, description = "A field is missing or invalid; nothing stored"),
    ),
    tag = "webhooks"
)]
#[post("/webhooks/twilio/inbound")]
pub async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    RawBody(body): RawBody,
) -> Result<HttpResponse, ApiError> {
    let received = receive_inbound(&state, &req, &body).await;
    state.metrics.record_inbound(received.as_ref());
    let outcome = received?;
    Ok(twiml(if outcome.duplicate { None } else { outcome.auto_reply.as_deref() }))
}

async fn receive_inbound(
    state: &AppState,
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<InboundOutcome, ApiError> {
    let (account, form) = authenticate(state, req, body).await?;
    let message = InboundMessage {
        message_sid: form.owned("MessageSid").or_else(|| form.owned("SmsMessageSid")).unwrap_or_default(),
        from: form.required("From")?.to_owned(),
        to: form.required("To")?.to_owned(),
        body: form.owned("Body"),
        media: media(&form)?,
        profile_name: form.owned("ProfileName"),
        wa_id: form.owned("WaId"),
    };
    Ok(state.webhooks.handle_inbound(&account, message).await?)
}

/// A delivery-status callback for a message the service sent.
#[utoipa::path(
    operation_id = "twilio_status",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback parameters"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    responses(
        (status = 200, description = "Applied, ignored as late or repeated, or unknown MessageSid"),
        (status = 403, description = "Unknown account or invalid signature"),
        (status = 422, description = "A field is missing or invalid"),
    ),
    tag = "webhooks"
)]
#[post("/webhooks/twilio/status")]
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    RawBody(body): RawBody,
) -> Result<HttpResponse, ApiError> {
    let applied = apply_status(&state, &req, &body).await;
    state.metrics.record_status_callback(applied.as_ref());
    let outcome = match applied? {
        DeliveryUpdate::Advanced(_) => "advanced",
        DeliveryUpdate::Unchanged(_) => "unchanged",
        DeliveryUpdate::UnknownSid => "unknown_sid",
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "outcome": outcome })))
}

async fn apply_status(
    state: &AppState,
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<DeliveryUpdate, ApiError> {
    let (account, form) = authenticate(state, req, body).await?;
    let error_code = match form.get("ErrorCode").filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => {
            Some(raw.parse().map_err(|_| ApiError::invalid("ErrorCode", "`ErrorCode` must be a number"))?)
        }
    };
    let callback = DeliveryCallback {
        message_sid: form.owned("MessageSid").or_else(|| form.owned("SmsSid")).unwrap_or_default(),
        status: form.owned("MessageStatus").or_else(|| form.owned("SmsStatus")).unwrap_or_default(),
        error_code,
        error_message: form.owned("ErrorMessage"),
    };
    Ok(state.webhooks.apply_status(&account.credentials.account, callback).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_escaped_twiml() {
        let response = twiml(Some("Oi <b> & \"tchau\""));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(escape_xml("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
    }

    #[test]
    fn media_fields_map_to_attachments() {
        let form = Form::parse(b"NumMedia=2&MediaUrl0=https%3A%2F%2Fx%2F0&MediaContentType0=image%2Fjpeg&MediaUrl1=https%3A%2F%2Fx%2F1");
        let media = media(&form).unwrap();
        assert_eq!(media.len(), 2);
        assert_eq!(media[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(media[1].content_type, None);
        assert!(super::media(&Form::parse(b"NumMedia=1")).is_err());
        assert!(super::media(&Form::parse(b"NumMedia=x")).is_err());
    }
}
