//! The live event stream from the outside: two `conversa serve` instances on one database; a
//! Server-Sent Events reader on instance B sees what instance A stored (with the resources as
//! the REST API returns them), resumes with `Last-Event-ID` receiving exactly what it missed,
//! filters by type, and never sees another tenant's events.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Env, text};
use test_db::TestDb;

const BUSINESS: &str = "+5511940000001";
const ACCOUNT_SID: &str = "AC0000000000000000000000000000e0e0";
const AUTH_TOKEN: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e";

/// One SSE message.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    id: String,
    event: String,
    data: Value,
}

/// A reader of `GET /api/v1/events` (with `last_event_id` as `Last-Event-ID`).
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

fn client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    // No overall timeout: the stream does not end.
    reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap()
}

impl Stream {
    async fn open(base: &str, key: &str, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = client().get(format!("{base}/api/v1/events{query}")).bearer_auth(key);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("GET /api/v1/events");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next `count` events, waiting at most `limit` in all (heartbeats skipped).
    async fn next(&mut self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        let mut received = Vec::new();
        while received.len() < count {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&message) {
                    received.push(event);
                }
            }
            if received.len() >= count {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8")),
                Ok(other) => panic!("the stream ended: {other:?}"),
                Err(_) => break,
            }
        }
        received
    }
}

fn parse(message: &str) -> Option<Received> {
    let field = |name: &str| {
        message.lines().find_map(|line| line.strip_prefix(name).map(|value| value.trim_start().to_owned()))
    };
    Some(Received {
        id: field("id:")?,
        event: field("event:")?,
        data: serde_json::from_str(&field("data:")?).expect("data is JSON"),
    })
}

fn inbound(sid: &str, from: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AccountSid", ACCOUNT_SID.to_owned()),
        ("MessageSid", sid.to_owned()),
        ("From", from.to_owned()),
        ("To", BUSINESS.to_owned()),
        ("Body", body.to_owned()),
        ("NumMedia", "0".to_owned()),
    ]
}

async fn webhook(api: &Api, fields: &[(&'static str, String)]) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let answer = api.webhook("/webhooks/twilio/inbound", AUTH_TOKEN, &fields).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_on_one_instance_sees_what_another_stored_and_resumes_exactly_after_its_last_event() {
    let db = TestDb::new().await;
    let twilio = wiremock::MockServer::start().await;
    let env_a = Env::new(&db, &twilio.uri());
    let mut env_b = Env::new(&db, &twilio.uri());
    env_b.set("CONVERSA_WORKERS_ENABLED", "false");
    let _a = env_a.serve("events-a").await;
    let _b = env_b.serve("events-b").await;
    let (a, b) = (env_a.api(), env_b.api());

    let owner =
        env_a.run_json(&["owner", "create", "--name", "Loja Eventos", "--email", "ev@loja.example"]).await;
    let key = text(&owner["api_key"]).to_owned();
    let account = json!({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_numbers": [BUSINESS]});
    a.post("/api/v1/twilio-accounts", &key, &account).await.expect(201);
    let other =
        env_a.run_json(&["owner", "create", "--name", "Outra", "--email", "outra@loja.example"]).await;
    let other_key = text(&other["api_key"]).to_owned();

    let mut stream = Stream::open(&b.base, &key, "", None).await;
    let mut others = Stream::open(&b.base, &other_key, "", None).await;
    let mut created_only = Stream::open(&b.base, &key, "?types=conversation.created", None).await;
    webhook(&a, &inbound(&format!("SM{:032x}", 1), "+5511987650001", "Oi, tudo bem?")).await;

    let first = stream.next(2, Duration::from_secs(5)).await;
    let kinds: Vec<&str> = first.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["conversation.created", "message.created"], "{first:#?}");
    // The data is the resource as the REST API returns it, and the envelope says what it is.
    let conversation_id = text(&first[0].data["data"]["id"]).to_owned();
    let conversation = b.get(&format!("/api/v1/conversations/{conversation_id}"), &key).await.expect(200);
    assert_eq!(first[0].data["data"], conversation);
    assert_eq!(first[0].data["type"], "conversation.created");
    assert!(first[0].data["timestamp"].is_string(), "{:?}", first[0]);
    let message_id = text(&first[1].data["data"]["id"]).to_owned();
    let message = b.get(&format!("/api/v1/messages/{message_id}"), &key).await.expect(200);
    assert_eq!(first[1].data["data"], message);
    assert_ne!(first[0].id, first[1].id);

    let created = created_only.next(1, Duration::from_secs(5)).await;
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].event.as_str(), &created[0].id), ("conversation.created", &first[0].id));

    // The reader goes away; two more messages arrive; it reconnects after its last event.
    drop(stream);
    webhook(&a, &inbound(&format!("SM{:032x}", 2), "+5511987650001", "Meu pedido")).await;
    webhook(&a, &inbound(&format!("SM{:032x}", 3), "+5511987650001", "não chegou")).await;
    let mut resumed = Stream::open(&b.base, &key, "", Some(&first[1].id)).await;
    let missed = resumed.next(3, Duration::from_secs(3)).await;
    let bodies: Vec<&str> = missed.iter().map(|e| text(&e.data["data"]["body"])).collect();
    assert_eq!(bodies, ["Meu pedido", "não chegou"], "exactly what it missed: {missed:#?}");
    assert!(missed.iter().all(|e| e.event == "message.created"));

    // Another tenant saw none of it, and cannot resume from this tenant's event.
    assert_eq!(others.next(1, Duration::from_millis(500)).await, []);
    let foreign = client()
        .get(format!("{}/api/v1/events", b.base))
        .bearer_auth(&other_key)
        .header("Last-Event-ID", &first[1].id)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 422);
    let problem: Value = serde_json::from_str(&foreign.text().await.unwrap()).unwrap();
    assert_eq!(problem["field"], "Last-Event-ID", "{problem}");
}
