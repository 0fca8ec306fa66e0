//! The requests the benchmark sends: Twilio inbound webhooks signed as Twilio signs them, with
//! unique MessageSids, from a fixed set of customers; and authenticated message listings.

use std::sync::Arc;

use domain::SecretString;

use crate::load::RenderRequest;

/// The benchmark's tenant, as the service knows it.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Its id.
    pub owner_id: String,
    /// Its admin's API key.
    pub api_key: String,
    /// Its Twilio account.
    pub account_sid: String,
    /// That account's auth token.
    pub auth_token: String,
    /// The account's number, which customers write to.
    pub business: String,
}

impl Tenant {
    /// A Twilio account with a random SID and token on `business`.
    pub fn new(owner_id: String, api_key: String, business: &str) -> Self {
        Self {
            owner_id,
            api_key,
            account_sid: format!("AC{}", random_hex::<16>()),
            auth_token: random_hex::<16>(),
            business: business.to_owned(),
        }
    }
}

/// `N` random bytes as lowercase hex.
pub fn random_hex<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Customer number `index`: `+5511` and nine digits.
pub fn customer_number(index: u64) -> String {
    format!("+5511{}", 900_000_000 + index)
}

/// What customers write: questions, which closure detection keeps open, so every message
/// lands in an open conversation as it does in busy real traffic.
const BODIES: [&str; 4] = [
    "Oi, preciso de ajuda com o pedido 48213, ele ainda não chegou?",
    "Qual é o prazo de entrega para São Paulo?",
    "Hi, can you tell me when my order ships?",
    "¿Puedo cambiar la dirección de entrega?",
];

/// Inbound webhooks: request `n` comes from customer `first + n % count` of `customers`
/// (`first..first + count`) with MessageSid `SM<tag><n>`; `tag` is new for every call, so every
/// SID is new.
pub fn inbound_webhooks(base_url: &str, tenant: &Tenant, customers: std::ops::Range<u64>) -> RenderRequest {
    let first = customers.start;
    let count = customers.end.saturating_sub(customers.start).max(1);
    let url = format!("{base_url}/webhooks/twilio/inbound");
    let host = base_url.trim_start_matches("http://").to_owned();
    let tenant = tenant.clone();
    let token = SecretString::new(tenant.auth_token.clone());
    let tag = random_hex::<4>();
    Arc::new(move |n| {
        let sid = format!("SM{tag}{n:024x}");
        let params: Vec<(String, String)> = [
            ("ToCountry", "BR"),
            ("ToState", "SP"),
            ("SmsMessageSid", sid.as_str()),
            ("NumMedia", "0"),
            ("ToCity", "SAO PAULO"),
            ("FromState", "SP"),
            ("SmsSid", sid.as_str()),
            ("FromCountry", "BR"),
            ("SmsStatus", "received"),
            ("Body", BODIES[(n % BODIES.len() as u64) as usize]),
            ("To", tenant.business.as_str()),
            ("From", customer_number(first + n % count).as_str()),
            ("NumSegments", "1"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", tenant.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let signature = adapters_twilio::compute_signature(&token, &url, &params);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        format!(
            "POST /webhooks/twilio/inbound HTTP/1.1\r\nHost: {host}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

/// `GET` of one page of a conversation's messages, with the tenant's API key.
pub fn message_pages(base_url: &str, tenant: &Tenant, conversation_id: &str, limit: u32) -> RenderRequest {
    let host = base_url.trim_start_matches("http://");
    let request = format!(
        "GET /api/v1/conversations/{conversation_id}/messages?limit={limit} HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {}\r\n\r\n",
        tenant.api_key
    )
    .into_bytes();
    Arc::new(move |_| request.clone())
}

/// A JSON request with the tenant's API key.
pub fn json_request(base_url: &str, tenant: &Tenant, method: &str, path: &str, body: &str) -> Vec<u8> {
    let host = base_url.trim_start_matches("http://");
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        tenant.api_key,
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_signed_and_unique() {
        let tenant = Tenant::new("o".into(), "k".into(), "+5511940000001");
        let render = inbound_webhooks("http://127.0.0.1:9", &tenant, 0..10);
        let first = String::from_utf8(render(1)).unwrap();
        let second = String::from_utf8(render(2)).unwrap();
        assert_ne!(first, second);
        let (head, body) = first.split_once("\r\n\r\n").unwrap();
        let signature = head.lines().find_map(|l| l.strip_prefix("X-Twilio-Signature: ")).unwrap();
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let token = SecretString::new(tenant.auth_token.clone());
        assert!(adapters_twilio::validate(
            &token,
            "http://127.0.0.1:9/webhooks/twilio/inbound",
            &params,
            signature
        ));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(customer_number(7), "+5511900000007");
    }
}
