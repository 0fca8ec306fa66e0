//! `TwilioGateway` against a fake Twilio (wiremock): what it sends, and how each kind of answer
//! or failure maps to the port's result.

use std::time::{Duration, Instant};

use adapters_twilio::{TwilioConfig, TwilioGateway};
use domain::{ChannelAddress, ContentSid, DeliveryStatus, MessageId, MessageTemplate, OwnerId, SecretString};
use ports::{ChannelCredentials, GatewayError, MessagingGateway, OutboundEnvelope};
use uuid::Uuid;
use wiremock::matchers::{basic_auth, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const MESSAGES_PATH: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";
const STATUS_CALLBACK: &str = "https://conversa.example.com/webhooks/twilio/status";
const BODY: &str = "Olá! Seu pedido #42 saiu para entrega 🚚 & chega amanhã";

fn config(api_base_url: &str) -> TwilioConfig {
    TwilioConfig {
        api_base_url: api_base_url.to_owned(),
        status_callback_url: Some(STATUS_CALLBACK.to_owned()),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    }
}

fn gateway(server: &MockServer) -> TwilioGateway {
    TwilioGateway::new(&config(&server.uri())).unwrap()
}

/// A gateway that asks for no status callback: the form holds only the message.
fn gateway_without_callback(server: &MockServer) -> TwilioGateway {
    TwilioGateway::new(&TwilioConfig { status_callback_url: None, ..config(&server.uri()) }).unwrap()
}

fn whatsapp_envelope() -> OutboundEnvelope {
    OutboundEnvelope {
        owner_id: OwnerId::from_uuid(Uuid::from_u128(1)),
        message_id: MessageId::from_uuid(Uuid::from_u128(2)),
        from: ChannelAddress::parse("whatsapp:+14155238886").unwrap(),
        to: ChannelAddress::parse("whatsapp:+5511999998888").unwrap(),
        body: Some(BODY.to_owned()),
        media_urls: vec![
            "https://cdn.example.com/receipt.pdf".to_owned(),
            "https://cdn.example.com/photo.jpg?size=large&v=2".to_owned(),
        ],
        template: None,
        credentials: ChannelCredentials {
            account: ACCOUNT_SID.to_owned(),
            secret: SecretString::new(AUTH_TOKEN),
            sender_pool: None,
        },
    }
}

fn twilio_error(code: i32, message: &str, status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    }))
}

/// A fake Twilio answering `POST …/Messages.json` (with our credentials) once with `response`.
async fn twilio_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(basic_auth(ACCOUNT_SID, AUTH_TOKEN))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn sent_form(server: &MockServer) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    form_urlencoded::parse(&requests[0].body).into_owned().collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

#[tokio::test]
async fn a_created_message_returns_its_sid_and_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(basic_auth(ACCOUNT_SID, AUTH_TOKEN))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "account_sid": ACCOUNT_SID,
            "sid": "SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f",
            "status": "queued",
            "body": BODY,
            "num_media": "2",
            "error_code": null,
        })))
        .expect(1)
        .mount(&server)
        .await;

    let receipt = gateway(&server).send(whatsapp_envelope()).await.unwrap();

    assert_eq!(receipt.provider_sid, "SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f");
    assert_eq!(receipt.status, DeliveryStatus::Queued);
    // The callback names the message, so a status that arrives before the SID is stored
    // still finds it (Twilio signs the URL, query included).
    let callback = format!("{STATUS_CALLBACK}?message_id={}", Uuid::from_u128(2));
    assert_eq!(
        sent_form(&server).await,
        pairs(&[
            ("To", "whatsapp:+5511999998888"),
            ("From", "whatsapp:+14155238886"),
            ("Body", BODY),
            ("MediaUrl", "https://cdn.example.com/receipt.pdf"),
            ("MediaUrl", "https://cdn.example.com/photo.jpg?size=large&v=2"),
            ("StatusCallback", &callback),
        ])
    );
}

#[tokio::test]
async fn an_sms_without_text_or_callback_sends_only_what_it_has() {
    let server = twilio_answering(
        ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM1", "status": "accepted"})),
    )
    .await;
    let gateway = gateway_without_callback(&server);
    let envelope = OutboundEnvelope {
        from: ChannelAddress::parse("+14155238886").unwrap(),
        to: ChannelAddress::parse("+5511999998888").unwrap(),
        body: None,
        media_urls: vec!["https://cdn.example.com/a.png".to_owned()],
        ..whatsapp_envelope()
    };

    let receipt = gateway.send(envelope).await.unwrap();

    assert_eq!(receipt.status, DeliveryStatus::Accepted);
    assert_eq!(
        sent_form(&server).await,
        pairs(&[
            ("To", "+5511999998888"),
            ("From", "+14155238886"),
            ("MediaUrl", "https://cdn.example.com/a.png")
        ])
    );
}

#[tokio::test]
async fn an_invalid_number_is_refused_for_good_with_twilio_code() {
    let message = "The 'To' number +5511999998888 is not a valid phone number.";
    let server = twilio_answering(twilio_error(21211, message, 400)).await;

    let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();

    assert_eq!(err, GatewayError::Permanent { code: Some(21211), reason: message.to_owned() });
}

#[tokio::test]
async fn unsubscribed_recipients_and_bad_credentials_are_permanent() {
    for (status, code, message) in
        [(400, 21610, "Attempt to send to unsubscribed recipient"), (401, 20003, "Authenticate")]
    {
        let server = twilio_answering(twilio_error(code, message, status)).await;
        let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();
        assert_eq!(err, GatewayError::Permanent { code: Some(code), reason: message.to_owned() });
    }
}

#[tokio::test]
async fn rate_limiting_is_retryable() {
    let server = twilio_answering(twilio_error(20429, "Too Many Requests", 429)).await;

    let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();

    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("429"), "{err}");
}

#[tokio::test]
async fn an_unavailable_twilio_is_retryable() {
    let server = twilio_answering(
        ResponseTemplate::new(503).set_body_raw("<html>Service Unavailable</html>", "text/html"),
    )
    .await;

    let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();

    assert!(matches!(&err, GatewayError::Retryable { reason } if reason.contains("503")), "{err:?}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retryable() {
    let server = twilio_answering(
        ResponseTemplate::new(201)
            .set_body_json(serde_json::json!({"sid": "SM1", "status": "queued"}))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let gateway = TwilioGateway::new(&TwilioConfig {
        request_timeout: Duration::from_millis(300),
        ..config(&server.uri())
    })
    .unwrap();

    let started = Instant::now();
    let err = gateway.send(whatsapp_envelope()).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(3), "waited {:?}", started.elapsed());
    assert!(matches!(&err, GatewayError::Retryable { reason } if reason.contains("timed out")), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = unused.local_addr().unwrap();
    drop(unused);
    let gateway = TwilioGateway::new(&config(&format!("http://{address}"))).unwrap();

    let err = gateway.send(whatsapp_envelope()).await.unwrap_err();

    assert!(matches!(&err, GatewayError::Retryable { reason } if reason.contains("connect")), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_acceptance_is_permanent_so_the_message_is_not_sent_twice() {
    let server =
        twilio_answering(ResponseTemplate::new(201).set_body_raw("{\"sid\": ", "application/json")).await;

    let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();

    assert!(
        matches!(&err, GatewayError::Permanent { code: None, reason } if reason.contains("HTTP 201") && reason.contains("not retried")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_account_that_is_not_an_account_sid_is_refused_without_calling_twilio() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let mut envelope = whatsapp_envelope();
    envelope.credentials.account = "AC../../Calls".to_owned();

    let err = gateway(&server).send(envelope).await.unwrap_err();

    assert!(matches!(err, GatewayError::Permanent { code: None, .. }), "{err:?}");
}

const CONTENT_SID: &str = "HX0123456789abcdef0123456789abcdef";
const MESSAGING_SERVICE_SID: &str = "MG0123456789abcdef0123456789abcdef";

fn template() -> MessageTemplate {
    let variables = [("1".to_owned(), "Maria".to_owned()), ("2".to_owned(), "amanhã às 10h".to_owned())];
    MessageTemplate::new(ContentSid::parse(CONTENT_SID).unwrap(), variables.into()).unwrap()
}

#[tokio::test]
async fn a_template_is_sent_as_content_sid_and_content_variables_without_body_or_media() {
    let server = twilio_answering(
        ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM2", "status": "queued"})),
    )
    .await;
    let gateway = gateway_without_callback(&server);
    let envelope = OutboundEnvelope {
        body: None,
        media_urls: Vec::new(),
        template: Some(template()),
        ..whatsapp_envelope()
    };

    gateway.send(envelope).await.unwrap();

    assert_eq!(
        sent_form(&server).await,
        pairs(&[
            ("To", "whatsapp:+5511999998888"),
            ("From", "whatsapp:+14155238886"),
            ("ContentSid", CONTENT_SID),
            ("ContentVariables", r#"{"1":"Maria","2":"amanhã às 10h"}"#),
        ])
    );
}

#[tokio::test]
async fn an_account_with_a_messaging_service_sends_through_it_instead_of_from() {
    let server = twilio_answering(
        ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM3", "status": "accepted"})),
    )
    .await;
    let gateway = gateway_without_callback(&server);
    let mut envelope = OutboundEnvelope { media_urls: Vec::new(), ..whatsapp_envelope() };
    envelope.credentials.sender_pool = Some(MESSAGING_SERVICE_SID.to_owned());

    gateway.send(envelope).await.unwrap();

    let form = sent_form(&server).await;
    assert_eq!(
        form,
        pairs(&[
            ("To", "whatsapp:+5511999998888"),
            ("MessagingServiceSid", MESSAGING_SERVICE_SID),
            ("Body", BODY)
        ])
    );
    assert!(!form.iter().any(|(name, _)| name == "From"), "{form:?}");
}

#[tokio::test]
async fn twilios_63016_outside_the_window_is_a_permanent_failure_with_its_code() {
    let message = "Failed to send freeform message because you are outside the allowed window.";
    let server = twilio_answering(twilio_error(63016, message, 400)).await;
    let err = gateway(&server).send(whatsapp_envelope()).await.unwrap_err();
    assert_eq!(err, GatewayError::Permanent { code: Some(63016), reason: message.to_owned() });
}
