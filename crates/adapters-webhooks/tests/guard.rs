//! The guarded client against real local receivers: private targets are refused at connect
//! time (names resolving to them included) and at registration, while with the flag on a local
//! receiver gets a webhook the Standard Webhooks library verifies; redirects are not followed,
//! answers are read up to the cap, and a slow endpoint times out.

use std::time::Duration;

use adapters_webhooks::{HttpWebhookSender, SenderSettings, new_secret};
use chrono::Utc;
use domain::{AttemptOutcome, EventId, WebhookUrl};
use ports::{OutgoingWebhook, TargetRefused, WebhookSender};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sender(allow_private_addresses: bool, timeout: Duration) -> HttpWebhookSender {
    HttpWebhookSender::new(SenderSettings {
        timeout,
        allow_http: true,
        allow_private_addresses,
        ..SenderSettings::default()
    })
    .unwrap()
}

fn webhook(url: &str, secret: &domain::SecretString) -> OutgoingWebhook {
    OutgoingWebhook {
        url: WebhookUrl::parse(url, true).unwrap(),
        webhook_id: EventId::new_at(Utc::now()),
        timestamp: Utc::now(),
        body: r#"{"type":"message.created","timestamp":"2026-12-03T10:00:00Z","data":{}}"#.to_owned(),
        secrets: vec![secret.clone()],
    }
}

#[tokio::test]
async fn private_targets_are_refused_at_connect_time_and_at_registration() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&receiver).await;
    let port = receiver.address().port();
    let guarded = sender(false, Duration::from_secs(2));
    let secret = new_secret();
    let targets = [
        (format!("http://127.0.0.1:{port}/hook"), "127.0.0.1"),
        (format!("http://localhost:{port}/hook"), "refused address"),
        (format!("http://[::1]:{port}/hook"), "::1"),
        ("http://10.0.0.1/hook".to_owned(), "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data".to_owned(), "169.254.169.254"),
        (format!("http://[::ffff:127.0.0.1]:{port}/hook"), "127.0.0.1"),
    ];
    for (url, named) in &targets {
        let response = guarded.send(&webhook(url, &secret)).await;
        let AttemptOutcome::TransportError { error } = &response.outcome else {
            panic!("{url} was reached: {response:?}");
        };
        assert!(error.contains("refused address") && error.contains(named), "{url}: {error}");
        let refused = guarded.check_target(&WebhookUrl::parse(url, true).unwrap()).await;
        assert!(matches!(refused, Err(TargetRefused::PrivateAddress { .. })), "{url}: {refused:?}");
    }
    // `localhost` names its refused address (127.0.0.1 or ::1).
    let local = guarded.send(&webhook(&targets[1].0, &secret)).await;
    let AttemptOutcome::TransportError { error } = local.outcome else { unreachable!() };
    assert!(error.contains("127.0.0.1") || error.contains("::1"), "{error}");
    // Only https without the flag.
    let strict = HttpWebhookSender::new(SenderSettings::default()).unwrap();
    let plain = strict.send(&webhook("http://crm.example/hook", &secret)).await;
    assert!(matches!(plain.outcome, AttemptOutcome::TransportError { .. }), "{plain:?}");
}

#[tokio::test]
async fn with_private_targets_allowed_a_local_receiver_gets_a_verifiable_webhook() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&receiver).await;
    let open = sender(true, Duration::from_secs(2));
    let secret = new_secret();
    let sent = webhook(&format!("{}/hook", receiver.uri()), &secret);
    let response = open.send(&sent).await;
    assert_eq!(response.outcome, AttemptOutcome::Succeeded { status: 204 });

    let requests = receiver.received_requests().await.unwrap();
    let request = &requests[0];
    assert_eq!(request.headers["webhook-id"], sent.webhook_id.to_string().as_str());
    assert_eq!(request.headers["content-type"], "application/json");
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, request.headers[name].to_str().unwrap().parse().unwrap());
    }
    let verifier = standardwebhooks::Webhook::new(secret.expose()).unwrap();
    verifier.verify(&request.body, &headers).expect("the Standard Webhooks library verifies it");
    assert!(verifier.verify(b"{\"tampered\":true}", &headers).is_err());
    assert!(open.check_target(&sent.url).await.is_ok());
}

#[tokio::test]
async fn redirects_are_not_followed_answers_are_capped_and_slow_endpoints_time_out() {
    let receiver = MockServer::start().await;
    let open = sender(true, Duration::from_millis(500));
    let secret = new_secret();
    Mock::given(wiremock::matchers::path("/redirect"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "http://169.254.169.254/"))
        .mount(&receiver)
        .await;
    Mock::given(wiremock::matchers::path("/big"))
        .respond_with(ResponseTemplate::new(500).set_body_string("x".repeat(1 << 20)))
        .mount(&receiver)
        .await;
    Mock::given(wiremock::matchers::path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&receiver)
        .await;
    let redirected = open.send(&webhook(&format!("{}/redirect", receiver.uri()), &secret)).await;
    assert_eq!(redirected.outcome, AttemptOutcome::HttpError { status: 302 });
    let big = open.send(&webhook(&format!("{}/big", receiver.uri()), &secret)).await;
    assert_eq!(big.outcome, AttemptOutcome::HttpError { status: 500 });
    assert_eq!(big.excerpt.map(|e| e.len()), Some(domain::WebhookAttempt::EXCERPT_CHARS));
    let slow = open.send(&webhook(&format!("{}/slow", receiver.uri()), &secret)).await;
    let AttemptOutcome::TransportError { error } = slow.outcome else { panic!("{slow:?}") };
    assert!(error.contains("no answer within 500 ms"), "{error}");
    assert!(slow.latency_ms >= 500 && slow.latency_ms < 2_000, "{}", slow.latency_ms);
}
