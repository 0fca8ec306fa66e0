//! Neither the auth token nor the message body reaches the logs, at any level, ours or the
//! HTTP stack's. Alone in its own test binary: a thread-scoped subscriber races with callsite
//! registration by tests running in parallel threads of the same process.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters_twilio::{TwilioConfig, TwilioGateway};
use base64::Engine as _;
use domain::{ChannelAddress, MessageId, OwnerId, SecretString};
use ports::{ChannelCredentials, MessagingGateway, OutboundEnvelope};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const BODY: &str = "Seu código de acesso é 482913";

/// A `MakeWriter` appending every log line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn envelope() -> OutboundEnvelope {
    OutboundEnvelope {
        owner_id: OwnerId::from_uuid(Uuid::from_u128(1)),
        message_id: MessageId::from_uuid(Uuid::from_u128(2)),
        from: ChannelAddress::parse("whatsapp:+14155238886").unwrap(),
        to: ChannelAddress::parse("whatsapp:+5511999998888").unwrap(),
        body: Some(BODY.to_owned()),
        media_urls: Vec::new(),
        credentials: ChannelCredentials {
            account: ACCOUNT_SID.to_owned(),
            secret: SecretString::new(AUTH_TOKEN),
            sender_pool: None,
        },
        template: None,
    }
}

/// A fake Twilio answering once with `response` (checked when the server drops), and a gateway to it.
async fn twilio_answering(response: ResponseTemplate) -> (MockServer, TwilioGateway) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(response).expect(1).mount(&server).await;
    let gateway = TwilioGateway::new(&TwilioConfig {
        api_base_url: server.uri(),
        request_timeout: Duration::from_secs(5),
        ..TwilioConfig::default()
    })
    .unwrap();
    (server, gateway)
}

#[tokio::test]
async fn neither_the_token_nor_the_body_reaches_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let accepted = ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM1", "body": BODY}));
    let (_accepting, gateway) = twilio_answering(accepted).await;
    gateway.send(envelope()).await.unwrap();
    let refused = ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }));
    let (_refusing, gateway) = twilio_answering(refused).await;
    gateway.send(envelope()).await.unwrap_err();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("twilio_code=21610"), "the refusal is logged with its code: {logs}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    for secret in [AUTH_TOKEN, basic.as_str(), "482913", "Seu c"] {
        assert!(!logs.contains(secret), "`{secret}` was logged: {logs}");
    }
}
