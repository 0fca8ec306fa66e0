//! Send quotas, templates and Messaging Services from the outside: two `conversa serve`
//! instances on one database racing for the last send of a quota the operator set with
//! `conversa limits set` (exactly one message is queued), and what a fake Twilio receives for a template sent through an account with a
//! Messaging Service, and for Twilio's 63016.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Env, text};
use test_db::TestDb;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BUSINESS: &str = "+5511940000001";
const CUSTOMER: &str = "+5511987650001";
const ACCOUNT_SID: &str = "AC00000000000000000000000000001414";
const AUTH_TOKEN: &str = "14141414141414141414141414141414";
const CONTENT_SID: &str = "HX0123456789abcdef0123456789abcdef";
const MESSAGING_SERVICE_SID: &str = "MG0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_racing_for_the_last_send_of_a_quota_queue_exactly_one_message() {
    const QUOTA: usize = 5;
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let mut env_a = Env::new(&db, &twilio.uri());
    let mut env_b = Env::new(&db, &twilio.uri());
    for env in [&mut env_a, &mut env_b] {
        // Nothing is sent: the race is about queueing.
        env.set("CONVERSA_WORKERS_ENABLED", "false");
    }
    let (_a, _b) = (env_a.serve("quota-a").await, env_b.serve("quota-b").await);
    let (a, b) = (env_a.api(), env_b.api());
    let owner = env_a.run_json(&["owner", "create", "--name", "Loja", "--email", "quota@loja.example"]).await;
    let key = text(&owner["api_key"]).to_owned();
    // The operator sets the tenant's quota while both instances run.
    let quota = json!({"sends_per_day": QUOTA}).to_string();
    let set =
        env_a.run_json(&["limits", "set", "--owner", text(&owner["owner_id"]), "--config", &quota]).await;
    assert_eq!(set["limits"], json!({"sends_per_day": QUOTA}), "{set}");
    let opened = json!({"customer_phone": CUSTOMER, "business_phone": BUSINESS});
    let conversation =
        text(&a.post("/api/v1/conversations", &key, &opened).await.expect(201)["id"]).to_owned();
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    for n in 1..QUOTA {
        a.post(&messages, &key, &json!({"body": format!("mensagem {n}")})).await.expect(201);
    }

    // Eight callers, four on each instance, for the one unit left.
    let racers = (0..8).map(|n| {
        let api = if n % 2 == 0 { env_a.api() } else { env_b.api() };
        let (messages, key) = (messages.clone(), key.clone());
        tokio::spawn(async move { api.post(&messages, &key, &json!({"body": format!("corrida {n}")})).await })
    });
    let replies: Vec<_> = futures::future::join_all(racers).await.into_iter().map(Result::unwrap).collect();
    let won: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(won.len(), 1, "exactly one caller gets the last unit: {:?}", statuses(&replies));
    for lost in replies.iter().filter(|r| r.status != 201) {
        let problem = lost.expect(429);
        assert_eq!(problem["code"], "send_quota_exceeded", "{problem}");
        assert!(problem["resets_at"].as_str().is_some_and(|at| at.ends_with("T00:00:00Z")), "{problem}");
    }

    let stored = b.get(&format!("{messages}?limit=50"), &key).await.expect(200);
    let stored = stored["items"].as_array().expect("items").clone();
    assert_eq!(stored.len(), QUOTA, "the quota's messages and no more: {stored:?}");
    assert!(stored.iter().all(|m| m["delivery_status"] == "queued"));
    let usage = b.get("/api/v1/usage", &key).await.expect(200);
    assert_eq!(
        usage["sends_today"],
        json!({"sent": QUOTA, "quota": QUOTA, "resets_at": usage["sends_today"]["resets_at"]})
    );
    let queued = db.count("SELECT count(*) AS count FROM send_jobs").await;
    assert_eq!(queued, QUOTA as i64, "one send job per stored message");
}

fn statuses(replies: &[support::Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_goes_out_through_the_messaging_service_and_63016_fails_for_good() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let env = Env::new(&db, &twilio.uri());
    let _server = env.serve("templates").await;
    let api = env.api();
    let owner = env.run_json(&["owner", "create", "--name", "Loja", "--email", "tpl@loja.example"]).await;
    let key = text(&owner["api_key"]).to_owned();
    let whatsapp_business = format!("whatsapp:{BUSINESS}");
    let account = json!({
        "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_numbers": [whatsapp_business],
        "messaging_service_sid": MESSAGING_SERVICE_SID
    });
    api.post("/api/v1/twilio-accounts", &key, &account).await.expect(201);

    // The customer writes on WhatsApp: the window is open for free-form messages.
    let customer = format!("whatsapp:{CUSTOMER}");
    let inbound = [
        ("AccountSid", ACCOUNT_SID),
        ("MessagingServiceSid", MESSAGING_SERVICE_SID),
        ("MessageSid", "SM00000000000000000000000000001401"),
        ("From", customer.as_str()),
        ("To", whatsapp_business.as_str()),
        ("Body", "Oi"),
        ("NumMedia", "0"),
    ];
    let answer = api.webhook("/webhooks/twilio/inbound", AUTH_TOKEN, &inbound).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let list = api.get("/api/v1/conversations", &key).await.expect(200);
    let messages = format!("/api/v1/conversations/{}/messages", text(&list["items"][0]["id"]));

    let messages_json = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json");
    Mock::given(method("POST"))
        .and(path(messages_json.clone()))
        .and(body_string_contains(format!("ContentSid={CONTENT_SID}")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM1401", "status": "queued"})))
        .expect(1)
        .mount(&twilio)
        .await;
    // A free-form message Twilio finds outside the window (its clock, not ours).
    Mock::given(method("POST"))
        .and(path(messages_json))
        .and(body_string_contains("Body="))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 63016, "status": 400,
            "message": "Failed to send freeform message because you are outside the allowed window."
        })))
        .expect(1)
        .mount(&twilio)
        .await;

    let template = json!({"template": {"content_sid": CONTENT_SID, "variables": {"1": "Maria"}}});
    let sent = api.post(&messages, &key, &template).await.expect(201);
    let sent = poll_message(&api, &key, text(&sent["id"]), |m| m["provider_sid"] == "SM1401").await;
    assert_eq!(sent["template"]["variables"], json!({"1": "Maria"}), "{sent}");
    let free_form = api.post(&messages, &key, &json!({"body": "Posso ajudar?"})).await.expect(201);
    let failed = poll_message(&api, &key, text(&free_form["id"]), |m| m["delivery_status"] == "failed").await;
    assert_eq!(failed["error_code"], 63016, "a permanent failure with Twilio's code: {failed}");

    let requests = twilio.received_requests().await.expect("requests recorded");
    let forms: Vec<Vec<(String, String)>> =
        requests.iter().map(|r| form_urlencoded::parse(&r.body).into_owned().collect()).collect();
    let template_form =
        forms.iter().find(|f| f.iter().any(|(k, _)| k == "ContentSid")).expect("a template send");
    let field =
        |form: &[(String, String)], name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field(template_form, "ContentVariables").as_deref(), Some(r#"{"1":"Maria"}"#));
    assert_eq!(field(template_form, "Body"), None);
    for form in &forms {
        assert_eq!(field(form, "MessagingServiceSid").as_deref(), Some(MESSAGING_SERVICE_SID), "{form:?}");
        assert_eq!(field(form, "From"), None, "a Messaging Service replaces From: {form:?}");
    }
}

/// Polls the message `id` until `done` holds, for at most 10 s.
async fn poll_message(api: &support::Api, key: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let message = api.poll(&format!("/api/v1/messages/{id}"), key, Duration::from_secs(10), &done).await;
    assert!(done(&message), "not within 10 s: {message}");
    message
}
