//! Twilio's webhooks: inbound messages and delivery-status callbacks. The HTTP layer decodes
//! the form and hands it to one use case with the public URL (built from the configured base
//! URL, never the Host header) and the signature header; finding the account, verifying the
//! signature, parsing and storing (or spooling) happen below it. Every webhook's outcome,
//! refusals included, is counted in the metrics.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, post, web};
use adapters_twilio::SIGNATURE_HEADER;
use ports::DeliveryUpdate;
use services::{InboundOutcome, Receipt, SignedWebhook};

use crate::extract::RawBody;
use crate::problem::ApiError;
use crate::state::AppState;

/// The request as the use cases take it: form fields, signature, the URL Twilio signed.
fn signed_webhook(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<SignedWebhook, ApiError> {
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
    let path_and_query = req.uri().path_and_query().map_or(req.path(), |pq| pq.as_str());
    Ok(SignedWebhook {
        url: adapters_twilio::public_url(&state.public_base_url, path_and_query),
        signature: req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
        fields: form_urlencoded::parse(body).into_owned().collect(),
    })
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
        (status = 200, description = "Stored (or already stored), or kept in the local spool while the database is unavailable; TwiML", content_type = "text/xml"),
        (status = 403, description = "Unknown account or invalid signature; nothing stored"),
        (status = 413, description = "The body is over the limit; nothing stored"),
        (status = 422, description = "A field is missing or invalid; nothing stored"),
        (status = 503, description = "Neither the database nor the spool can take it, or the account cannot be looked up",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
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
    Ok(match received? {
        Receipt::Stored(outcome) if !outcome.duplicate => twiml(outcome.auto_reply.as_deref()),
        // A spooled message's auto-reply is not sent: it would need the tenant's settings as
        // they will be when it is stored (see docs/adr/0011).
        Receipt::Stored(_) | Receipt::Spooled => twiml(None),
    })
}

async fn receive_inbound(
    state: &AppState,
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<Receipt<InboundOutcome>, ApiError> {
    Ok(state.webhooks.receive_inbound(signed_webhook(state, req, body)?).await?)
}

/// A delivery-status callback for a message the service sent.
#[utoipa::path(
    operation_id = "twilio_status",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback parameters"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    responses(
        (status = 200, description = "Applied, ignored as late or repeated, unknown MessageSid, or spooled while the database is unavailable"),
        (status = 403, description = "Unknown account or invalid signature"),
        (status = 413, description = "The body is over the limit"),
        (status = 422, description = "A field is missing or invalid"),
        (status = 503, description = "Neither the database nor the spool can take it",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
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
        Receipt::Stored(DeliveryUpdate::Advanced(_)) => "advanced",
        Receipt::Stored(DeliveryUpdate::Unchanged(_)) => "unchanged",
        Receipt::Stored(DeliveryUpdate::UnknownSid) => "unknown_sid",
        Receipt::Spooled => "spooled",
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "outcome": outcome })))
}

async fn apply_status(
    state: &AppState,
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<Receipt<DeliveryUpdate>, ApiError> {
    Ok(state.webhooks.receive_status(signed_webhook(state, req, body)?).await?)
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
}
