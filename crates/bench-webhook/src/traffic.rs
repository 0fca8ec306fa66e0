//! The requests the benchmark sends: Twilio inbound webhooks signed as Twilio signs them, with
//! unique MessageSids, from a fixed set of customers; and authenticated message listings.
//!
//! Conversa and the FastAPI peer get the same webhooks (the same 16 form fields, the same
//! To/From numbers and bodies), each signed with its own account's token for its own URL.

use std::ops::Range;
use std::sync::Arc;

use domain::SecretString;

use crate::load::RenderRequest;

/// The Conversa tenant of the benchmark, as the service knows it.
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

    /// Where Conversa at `base_url` takes this tenant's webhooks.
    pub fn webhook_target(&self, base_url: &str) -> WebhookTarget {
        WebhookTarget::new(base_url, &self.account_sid, &self.auth_token, &self.business)
    }
}

/// A service taking Twilio inbound webhooks for one account: what a request is signed for.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// The full URL Twilio calls (what the signature covers).
    pub url: String,
    /// `host:port` of the `Host` header.
    pub host: String,
    /// The account's SID (the `AccountSid` field).
    pub account_sid: String,
    /// The account's auth token (the signing key).
    pub auth_token: String,
    /// The account's number (the `To` field).
    pub business: String,
}

impl WebhookTarget {
    /// `POST {base_url}/webhooks/twilio/inbound` for the account `account_sid`.
    pub fn new(base_url: &str, account_sid: &str, auth_token: &str, business: &str) -> Self {
        Self {
            url: format!("{base_url}/webhooks/twilio/inbound"),
            host: base_url.trim_start_matches("http://").to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
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

/// What customers ask: questions, which Conversa's closure detection keeps open.
pub const QUESTIONS: [&str; 4] = [
    "Olá, preciso de ajuda com meu pedido",
    "Qual é o prazo de entrega para São Paulo?",
    "Oi, o pedido 48213 ainda não chegou, pode verificar?",
    "Vocês entregam no sábado?",
];

/// How a conversation ends: a fifth of the load's bodies.
pub const FAREWELL: &str = "obrigado!";

/// Which customer writes request `n`, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Customer `n` of the range (modulo its size) asks a question: one message from each
    /// customer in turn, to open everyone's conversation before the measurements.
    Sequential,
    /// The measured load: a customer drawn uniformly from the range for every request (as
    /// pgbench's `random(1, 5000)` draws the sender), and one body in five the farewell, the
    /// others questions. Drawn from a hash of `n`, so every customer sends both kinds.
    Load,
}

/// What the `n`-th request of `mix` over `customers` carries: the customer's number and the body.
pub fn message(mix: Mix, customers: &Range<u64>, seed: u64, n: u64) -> (String, &'static str) {
    let count = customers.end.saturating_sub(customers.start).max(1);
    match mix {
        Mix::Sequential => {
            (customer_number(customers.start + n % count), QUESTIONS[(n % QUESTIONS.len() as u64) as usize])
        }
        Mix::Load => {
            let draw = splitmix64(seed ^ n);
            let customer = customers.start + (draw & 0xffff_ffff) % count;
            let kind = (draw >> 32) % 5;
            let body = if kind == 0 {
                FAREWELL
            } else {
                QUESTIONS[((draw >> 40) % QUESTIONS.len() as u64) as usize]
            };
            (customer_number(customer), body)
        }
    }
}

/// SplitMix64's output function: a well-spread 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Inbound webhooks for `target`: request `n` carries the customer and body of [`message`] and
/// MessageSid `SM<tag><n>`; `tag` is new for every call, so every SID is new.
pub fn inbound_webhooks(target: &WebhookTarget, customers: Range<u64>, mix: Mix) -> RenderRequest {
    let target = target.clone();
    let token = SecretString::new(target.auth_token.clone());
    let tag = random_hex::<4>();
    let seed: u64 = rand::random();
    Arc::new(move |n| {
        let sid = format!("SM{tag}{n:024x}");
        let (from, body) = message(mix, &customers, seed, n);
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
            ("Body", body),
            ("To", target.business.as_str()),
            ("From", from.as_str()),
            ("NumSegments", "1"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", target.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let signature = adapters_twilio::compute_signature(&token, &target.url, &params);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        format!(
            "POST /webhooks/twilio/inbound HTTP/1.1\r\nHost: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            target.host,
            body.len()
        )
        .into_bytes()
    })
}

/// A `GET` of `path` without credentials (readiness checks).
pub fn plain_get(base_url: &str, path: &str) -> RenderRequest {
    let host = base_url.trim_start_matches("http://");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes();
    Arc::new(move |_| request.clone())
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
    use std::collections::HashSet;

    use super::*;

    fn form(request: &[u8]) -> (String, Vec<(String, String)>) {
        let request = String::from_utf8(request.to_vec()).unwrap();
        let (head, body) = request.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let signature = head.lines().find_map(|l| l.strip_prefix("X-Twilio-Signature: ")).unwrap();
        (signature.to_owned(), form_urlencoded::parse(body.as_bytes()).into_owned().collect())
    }

    fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap()
    }

    #[test]
    fn webhooks_are_signed_for_their_target_and_unique() {
        let peer = WebhookTarget::new(
            "http://127.0.0.1:9",
            "AC00000000000000000000000000000001",
            "0123456789abcdef0123456789abcdef",
            "+5511940000001",
        );
        let render = inbound_webhooks(&peer, 0..10, Mix::Load);
        let (first_signature, first) = form(&render(1));
        let (_, second) = form(&render(2));
        assert_ne!(field(&first, "MessageSid"), field(&second, "MessageSid"));
        let token = SecretString::new(peer.auth_token.clone());
        let url = "http://127.0.0.1:9/webhooks/twilio/inbound";
        assert!(adapters_twilio::validate(&token, url, &first, &first_signature));
        assert_eq!(field(&first, "AccountSid"), peer.account_sid);
        assert_eq!(field(&first, "To"), "+5511940000001");
        assert_eq!(first.len(), 16);
        assert_eq!(customer_number(7), "+5511900000007");
    }

    #[test]
    fn the_load_mixes_every_customer_and_a_fifth_farewells() {
        let customers = 0..5000;
        let total = 200_000;
        let mut senders = HashSet::new();
        let mut farewell_senders = HashSet::new();
        let mut farewells = 0;
        for n in 0..total {
            let (from, body) = message(Mix::Load, &customers, 42, n);
            if body == FAREWELL {
                farewells += 1;
                farewell_senders.insert(from.clone());
            } else {
                assert!(QUESTIONS.contains(&body));
            }
            senders.insert(from);
        }
        assert_eq!(senders.len(), 5000);
        assert!(farewell_senders.len() > 4900, "farewells from {} customers", farewell_senders.len());
        let share = f64::from(farewells) / total as f64;
        assert!((share - 0.2).abs() < 0.01, "farewell share {share}");
        for n in 0..5 {
            assert_eq!(message(Mix::Sequential, &(3..8), 0, n).0, customer_number(3 + n));
            assert_ne!(message(Mix::Sequential, &(3..8), 0, n).1, FAREWELL);
        }
    }
}
