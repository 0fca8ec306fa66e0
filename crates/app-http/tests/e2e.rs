//! The whole service from the outside: the real `conversa` binary (migrate, owner and key
//! commands, `serve` with its background workers, `simulate`), a real database and a fake
//! Twilio. A customer writes, an agent answers, Twilio takes the answer and reports its
//! delivery, and the customer's goodbye closes the conversation once the grace period passes.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Env, describe, text};
use test_db::TestDb;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BUSINESS: &str = "+5511940000001";
const CUSTOMER: &str = "+5511987650001";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "fedcba9876543210fedcba9876543210";

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_from_first_message_to_goodbye() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let env = Env::new(&db, &twilio.uri());

    // The template database is migrated already: this run applies nothing, and says so.
    let migrated = env.run_json(&["migrate"]).await;
    assert!(migrated["applied"].is_array(), "{migrated}");

    let _server = env.serve("e2e").await;
    let api = env.api();

    // An operator creates the tenant; its admin registers the Twilio account.
    let owner = env.run_json(&["owner", "create", "--name", "Loja E2E", "--email", "e2e@loja.example"]).await;
    let key = text(&owner["api_key"]).to_owned();
    let account = json!({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_numbers": [BUSINESS]});
    api.post("/api/v1/twilio-accounts", &key, &account).await.expect(201);

    // A customer writes.
    let first_sid = format!("SM{:032x}", 0xe2e1);
    let first = [
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", first_sid.as_str()),
        ("From", CUSTOMER),
        ("To", BUSINESS),
        ("Body", "Oi, meu pedido não chegou"),
        ("NumMedia", "0"),
    ];
    let answer = api.webhook("/webhooks/twilio/inbound", AUTH_TOKEN, &first).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.starts_with("<?xml"), "{}", answer.body);
    let list = api.get("/api/v1/conversations", &key).await.expect(200);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(
        (items[0]["customer_phone"].as_str(), items[0]["status"].as_str()),
        (Some(CUSTOMER), Some("progress"))
    );
    let conversation = text(&items[0]["id"]).to_owned();

    // An agent answers; the dispatcher hands the answer to (fake) Twilio.
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")))
        .and(body_string_contains("StatusCallback=http%3A%2F%2F127.0.0.1"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SMe2e1", "status": "queued"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let reply = json!({"body": "Chegou hoje! Posso ajudar em algo mais?"});
    let message =
        api.post(&format!("/api/v1/conversations/{conversation}/messages"), &key, &reply).await.expect(201);
    assert_eq!(message["delivery_status"], "queued", "{message}");
    let message_path = format!("/api/v1/messages/{}", text(&message["id"]));
    let sent =
        api.poll(&message_path, &key, Duration::from_secs(10), |m| m["provider_sid"] == "SMe2e1").await;
    assert_eq!(sent["provider_sid"], "SMe2e1", "not sent through Twilio: {sent}");

    // Twilio reports the delivery: `sent` signed here, `delivered` by `conversa simulate status`.
    let callback = [("AccountSid", ACCOUNT_SID), ("MessageSid", "SMe2e1"), ("MessageStatus", "sent")];
    assert_eq!(
        api.webhook("/webhooks/twilio/status", AUTH_TOKEN, &callback).await.expect(200)["outcome"],
        "advanced"
    );
    let simulated = env
        .run(&[
            "simulate",
            "status",
            "--message-sid",
            "SMe2e1",
            "--status",
            "delivered",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ])
        .await;
    assert!(simulated.status.success(), "{}", describe(&simulated));
    let stdout = String::from_utf8_lossy(&simulated.stdout);
    assert!(stdout.starts_with("HTTP 200") && stdout.contains("advanced"), "{stdout}");
    let delivered = api.get(&message_path, &key).await.expect(200);
    assert_eq!(delivered["delivery_status"], "delivered", "{delivered}");

    // The customer says goodbye (through `conversa simulate inbound`, at the configured public
    // URL): closure detection records a pending closure, and the sweeper (every second here)
    // closes the conversation once the tenant's grace period of 3 s has passed in silence.
    let grace = json!({"enabled": true, "config": {"grace_seconds": 3}});
    api.put("/api/v1/features/closure_detection", &key, &grace).await.expect(200);
    let said_goodbye = std::time::Instant::now();
    let goodbye = env
        .run(&[
            "simulate",
            "inbound",
            "--from",
            CUSTOMER,
            "--to",
            BUSINESS,
            "--body",
            "Não, obrigado! Tchau 👋",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ])
        .await;
    assert!(goodbye.status.success(), "{}", describe(&goodbye));
    let stdout = String::from_utf8_lossy(&goodbye.stdout);
    assert!(stdout.starts_with("HTTP 200") && stdout.contains("<Response"), "{stdout}");
    let conversation_path = format!("/api/v1/conversations/{conversation}");
    let waiting = api.get(&conversation_path, &key).await.expect(200);
    assert_eq!(waiting["status"], "progress", "{waiting}");
    assert!(waiting["pending_closure"]["closes_at"].is_string(), "{waiting}");
    // Due 3 s after the goodbye; the sweeper runs every second (CONVERSA_SWEEP_INTERVAL_MS).
    let closed =
        api.poll(&conversation_path, &key, Duration::from_secs(10), |c| c["status"] == "user_closed").await;
    let waited = said_goodbye.elapsed();
    assert_eq!(closed["status"], "user_closed", "{closed}");
    assert!(waited >= Duration::from_secs(3), "closed before the grace period ended: {waited:?}");
    assert!(waited < Duration::from_secs(6), "not closed within a sweep interval of 3 s: {waited:?}");
    assert_eq!(closed["message_count"], 3, "{closed}");
    assert_eq!(closed["pending_closure"], serde_json::Value::Null, "{closed}");
    let messages = api.get(&format!("{conversation_path}/messages"), &key).await.expect(200);
    let goodbye_id = text(&messages["items"][2]["id"]).to_owned();
    let results = api.get(&format!("/api/v1/messages/{goodbye_id}/ai-results"), &key).await.expect(200);
    assert_eq!(results["items"][0]["kind"], "closure_detection", "{results}");

    // A wrongly signed webhook stores nothing.
    let forged = env
        .run(&[
            "simulate",
            "inbound",
            "--from",
            CUSTOMER,
            "--to",
            BUSINESS,
            "--body",
            "Oi de novo",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            "0123456789abcdef0123456789abcdef",
        ])
        .await;
    assert!(!forged.status.success(), "{}", describe(&forged));
    assert!(String::from_utf8_lossy(&forged.stdout).starts_with("HTTP 403"), "{}", describe(&forged));

    // An operator issues another key for the admin; it works at once.
    let admin = text(&owner["admin_user_id"]).to_owned();
    let issued = env.run_json(&["api-key", "create", "--user", &admin]).await;
    let second_key = text(&issued["api_key"]);
    assert_ne!(second_key, key);
    let seen = api.get("/api/v1/conversations?status=user_closed", second_key).await.expect(200);
    assert_eq!(seen["items"][0]["id"], conversation.as_str(), "{seen}");
    assert_eq!(api.get("/api/v1/conversations", "cnv_not_a_key").await.status, 401);

    // Twilio got exactly one send (the mock's `expect(1)`).
    twilio.verify().await;
}
