//! Webhooks out, end to end: `conversa serve` delivers a tenant's events to local receivers
//! (the private-targets flag on, as only tests and local development may), signed so that the
//! official Standard Webhooks verifier (PyPI `standardwebhooks`, scripts/webhook-verifier)
//! accepts them and refuses a tampered body or a wrong secret; a rotation signs with both
//! secrets; a failing receiver gets the same `webhook-id` on each retry, with the attempts in
//! the deliveries list; a dead one ends disabled; and meanwhile another tenant's receiver gets
//! its events on time.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Env, text};
use test_db::TestDb;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Tenant {
    key: String,
    business: String,
    account_sid: String,
    auth_token: String,
}

/// A tenant with a Twilio account on its own number (`n` tells them apart).
async fn tenant(env: &Env, api: &Api, n: u32) -> Tenant {
    let email = format!("hooks{n}@loja.example");
    let owner = env.run_json(&["owner", "create", "--name", &format!("Loja {n}"), "--email", &email]).await;
    let tenant = Tenant {
        key: text(&owner["api_key"]).to_owned(),
        business: format!("+551194000000{n}"),
        account_sid: format!("AC{n:032x}"),
        auth_token: format!("{n:032x}"),
    };
    let account = json!({"account_sid": tenant.account_sid, "auth_token": tenant.auth_token,
        "phone_numbers": [tenant.business]});
    api.post("/api/v1/twilio-accounts", &tenant.key, &account).await.expect(201);
    tenant
}

/// A customer writes to the tenant (a signed inbound webhook).
async fn inbound(api: &Api, tenant: &Tenant, sid: u32, body: &str) {
    let sid = format!("SM{sid:032x}");
    let fields = [
        ("AccountSid", tenant.account_sid.as_str()),
        ("MessageSid", sid.as_str()),
        ("From", "+5511987650001"),
        ("To", tenant.business.as_str()),
        ("Body", body),
        ("NumMedia", "0"),
    ];
    let answer = api.webhook("/webhooks/twilio/inbound", &tenant.auth_token, &fields).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn endpoint(api: &Api, tenant: &Tenant, url: String, events: &[&str]) -> Value {
    api.post("/api/v1/webhook-endpoints", &tenant.key, &json!({"url": url, "events": events}))
        .await
        .expect(201)
}

/// The requests `receiver` got, once there are at least `count` (at most `limit` of waiting).
async fn received(receiver: &MockServer, count: usize, limit: Duration) -> Vec<wiremock::Request> {
    let deadline = Instant::now() + limit;
    loop {
        let requests = receiver.received_requests().await.expect("recording is on");
        if requests.len() >= count || Instant::now() > deadline {
            return requests;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn header(request: &wiremock::Request, name: &str) -> String {
    request.headers.get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap().to_owned()
}

/// Whether the official Standard Webhooks verifier accepts `body` with the request's headers
/// under `secret`.
fn verifies(secret: &str, request: &wiremock::Request, body: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/webhook-verifier");
    let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|name| ((*name).to_owned(), Value::String(header(request, name))))
        .collect();
    let input = json!({"secret": secret, "headers": headers, "body": body}).to_string();
    let mut child =
        Command::new(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the verifier runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("the request is written");
    let output = child.wait_with_output().expect("the verifier ends");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with("ok") || said.starts_with("refused"), "the verifier failed to run: {said}");
    output.status.success()
}

fn body(request: &wiremock::Request) -> String {
    String::from_utf8(request.body.clone()).expect("UTF-8")
}

fn env_with_webhooks(db: &TestDb, twilio: &str) -> Env {
    let mut env = Env::new(db, twilio);
    env.set("CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true");
    env.set("CONVERSA_WEBHOOKS_POLL_INTERVAL_MS", "50");
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_gets_signed_events_the_official_verifier_accepts_and_both_secrets_during_a_rotation() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let env = env_with_webhooks(&db, &twilio.uri());
    let _server = env.serve("webhooks-signed").await;
    let api = env.api();
    let shop = tenant(&env, &api, 1).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&receiver).await;
    let registered = endpoint(&api, &shop, format!("{}/hooks", receiver.uri()), &[]).await;
    let secret = text(&registered["secret"]).to_owned();

    inbound(&api, &shop, 1, "Oi, tudo bem?").await;
    let requests = received(&receiver, 2, Duration::from_secs(10)).await;
    let mut types: Vec<String> = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["conversation.created", "message.created"], "{requests:#?}");

    for request in &requests {
        let sent = body(request);
        assert!(verifies(&secret, request, &sent), "the official verifier accepts it: {sent}");
        let tampered = sent.replacen("\"data\":{", "\"data\":{\"injected\":true,", 1);
        assert_ne!(tampered, sent);
        assert!(!verifies(&secret, request, &tampered), "a tampered body is refused");
        let wrong = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert!(!verifies(wrong, request, &sent), "a wrong secret is refused");
        // The body is the envelope, with the resource as the REST API returns it.
        let envelope: Value = serde_json::from_str(&sent).unwrap();
        let resource = match text(&envelope["type"]) {
            "conversation.created" => format!("/api/v1/conversations/{}", text(&envelope["data"]["id"])),
            _ => format!("/api/v1/messages/{}", text(&envelope["data"]["id"])),
        };
        assert_eq!(envelope["data"]["id"], api.get(&resource, &shop.key).await.expect(200)["id"]);
        assert!(envelope["timestamp"].is_string());
        let event_id = header(request, "webhook-id");
        assert_eq!(uuid::Uuid::parse_str(&event_id).map(|id| id.get_version_num()), Ok(7), "the event id");
    }

    let path = format!("/api/v1/webhook-endpoints/{}", text(&registered["id"]));
    let rotated = api.post(&format!("{path}/rotate-secret"), &shop.key, &json!({})).await.expect(200);
    let new_secret = text(&rotated["secret"]).to_owned();
    inbound(&api, &shop, 2, "Meu pedido").await;
    let requests = received(&receiver, 3, Duration::from_secs(10)).await;
    let after = requests.last().expect("a delivery after the rotation");
    assert_eq!(
        header(after, "webhook-signature").split(' ').count(),
        2,
        "two signatures during the rotation"
    );
    let sent = body(after);
    assert!(verifies(&new_secret, after, &sent), "the new secret verifies");
    assert!(verifies(&secret, after, &sent), "the old secret still verifies");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_keep_the_webhook_id_a_dead_endpoint_is_disabled_and_other_tenants_are_served_on_time() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let mut env = env_with_webhooks(&db, &twilio.uri());
    env.set("CONVERSA_WEBHOOKS_TIMEOUT_MS", "3000");
    env.set("CONVERSA_WEBHOOKS_RETRY_BASE_DELAY_MS", "150");
    env.set("CONVERSA_WEBHOOKS_RETRY_MAX_DELAY_MS", "300");
    env.set("CONVERSA_WEBHOOKS_DISABLE_AFTER_FAILURES", "3");
    let _server = env.serve("webhooks-retries").await;
    let api = env.api();
    let (a, b) = (tenant(&env, &api, 1).await, tenant(&env, &api, 2).await);

    // Tenant A: one receiver fails twice, then answers; another hangs past the timeout.
    let flaky = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("not yet"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&flaky)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).with_priority(2).mount(&flaky).await;
    let hanging = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&hanging)
        .await;
    let flaky_endpoint =
        endpoint(&api, &a, format!("{}/hooks", flaky.uri()), &["conversation.created"]).await;
    let dead_endpoint = endpoint(&api, &a, format!("{}/hooks", hanging.uri()), &[]).await;
    // Tenant B: a fast receiver.
    let fast = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&fast).await;
    endpoint(&api, &b, format!("{}/hooks", fast.uri()), &[]).await;

    inbound(&api, &a, 1, "Oi").await;
    // A's hanging endpoint now holds its deliveries until the timeout; B's events go through.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    inbound(&api, &b, 2, "Olá").await;
    let to_b = received(&fast, 2, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert_eq!(to_b.len(), 2, "B got both events");
    assert!(took < Duration::from_secs(2), "B's events waited {took:?} behind A's hanging endpoint");

    let attempts = received(&flaky, 3, Duration::from_secs(15)).await;
    assert_eq!(attempts.len(), 3, "two failures and a success");
    let ids: Vec<String> = attempts.iter().map(|r| header(r, "webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the same webhook-id on every attempt: {ids:?}");
    let deliveries_path = format!("/api/v1/webhook-endpoints/{}/deliveries", text(&flaky_endpoint["id"]));
    let deliveries = api
        .poll(&deliveries_path, &a.key, Duration::from_secs(5), |page| {
            page["items"][0]["state"] == "succeeded"
        })
        .await;
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["event_id"], ids[0].as_str());
    assert_eq!(delivery["event_type"], "conversation.created");
    let tried = delivery["attempts"].as_array().expect("attempts");
    let statuses: Vec<&Value> = tried.iter().map(|t| &t["status_code"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)], "{delivery:#}");
    assert_eq!(tried[0]["response_excerpt"], "not yet");
    for (attempt, next) in tried.iter().zip(tried.iter().skip(1)) {
        // Each failure scheduled the next attempt after itself (the backoff), and it came then.
        let scheduled = chrono::DateTime::parse_from_rfc3339(text(&attempt["next_attempt_at"])).unwrap();
        let made = chrono::DateTime::parse_from_rfc3339(text(&attempt["attempted_at"])).unwrap();
        let then = chrono::DateTime::parse_from_rfc3339(text(&next["attempted_at"])).unwrap();
        assert!(scheduled > made && then >= scheduled, "{delivery:#}");
    }
    assert_eq!(tried[2]["next_attempt_at"], Value::Null);

    // The hanging endpoint: each attempt times out; after three in a row it is disabled.
    let dead_path = format!("/api/v1/webhook-endpoints/{}", text(&dead_endpoint["id"]));
    let dead = api.poll(&dead_path, &a.key, Duration::from_secs(30), |e| e["enabled"] == false).await;
    assert_eq!(dead["enabled"], false, "{dead:#}");
    let reason = text(&dead["disabled_reason"]);
    assert!(
        reason.contains("3 attempts in a row failed") && reason.contains("no answer within 3000 ms"),
        "{reason}"
    );
    let dead_deliveries = api.get(&format!("{dead_path}/deliveries"), &a.key).await.expect(200);
    let errors: Vec<&Value> = dead_deliveries["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap())
        .map(|t| &t["error"])
        .collect();
    assert!(errors.iter().all(|e| text(e).contains("no answer within")), "{dead_deliveries:#}");
    assert!(dead_deliveries["items"].as_array().unwrap().iter().all(|d| d["state"] == "failed"));

    // A manual retry of a failed delivery is scheduled once the endpoint is enabled again.
    let failed = text(&dead_deliveries["items"][0]["id"]).to_owned();
    let retried = api.post(&format!("{dead_path}/deliveries/{failed}/retry"), &a.key, &json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(serde_json::from_str::<Value>(&retried.body).unwrap()["state"], "pending");

    let metrics = api.client.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    for series in [
        "conversa_webhook_attempts_total{outcome=\"success\"}",
        "conversa_webhook_attempts_total{outcome=\"http_error\"}",
        "conversa_webhook_attempts_total{outcome=\"transport_error\"}",
        "conversa_webhook_endpoints_disabled 1",
    ] {
        assert!(metrics.contains(series), "no {series} in /metrics:\n{metrics}");
    }
}
