//! Twilio's webhooks end to end: signed with the same algorithm Twilio's helper libraries use
//! (checked against vectors from the official Python package in `adapters-twilio`), stored once
//! per MessageSid, closure detection, auto-reply, and delivery statuses after a real send
//! through a fake Twilio server.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::test::TestRequest;
use adapters_twilio::{SIGNATURE_HEADER, TwilioConfig, TwilioGateway, compute_signature};
use app_http::wiring::{SystemClock, ThreadRngJitter, TokioPause};
use domain::{RetryPolicy, SecretString};
use serde_json::{Value, json};
use services::OutboundDispatcher;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

pub(crate) const PUBLIC: &str = "http://localhost:8080";

pub(crate) struct Twilio {
    pub(crate) sid: String,
    pub(crate) token: String,
}

pub(crate) async fn register_account(app: &TestApp, tenant: &Tenant, n: u32) -> Twilio {
    let body =
        json!({"account_sid": account_sid(n), "auth_token": auth_token(n), "phone_numbers": [BUSINESS]});
    app.post("/api/v1/twilio-accounts", &tenant.admin_key, &body).await.expect(201);
    Twilio { sid: account_sid(n), token: auth_token(n) }
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

pub(crate) async fn post_signed(
    app: &TestApp,
    path: &str,
    token: &str,
    params: &[(String, String)],
) -> Response {
    let signature = compute_signature(&SecretString::new(token), &format!("{PUBLIC}{path}"), params);
    post_with_signature(app, path, &signature, params).await
}

pub(crate) async fn post_with_signature(
    app: &TestApp,
    path: &str,
    signature: &str,
    params: &[(String, String)],
) -> Response {
    let request = TestRequest::post()
        .uri(path)
        .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .insert_header((SIGNATURE_HEADER, signature.to_owned()))
        .set_payload(encode(params));
    app.send(request).await
}

/// A dispatcher over the test's database that sends through `gateway`, ten jobs at a time.
pub(crate) fn dispatcher(app: &TestApp, gateway: TwilioGateway) -> OutboundDispatcher {
    OutboundDispatcher {
        queue: Arc::new(app.state.store.clone()),
        gateway: Arc::new(gateway),
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        pause: Arc::new(TokioPause),
        policy: RetryPolicy::default(),
        lease: chrono::Duration::seconds(60),
        batch_size: 10,
    }
}

pub(crate) fn inbound(twilio: &Twilio, sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    form(&[
        ("AccountSid", &twilio.sid),
        ("MessageSid", sid),
        ("From", from),
        ("To", BUSINESS),
        ("Body", body),
        ("NumMedia", "0"),
    ])
}

#[track_caller]
fn assert_twiml(response: &Response) {
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    assert!(response.text().starts_with("<?xml"), "{}", response.text());
}

async fn conversations(app: &TestApp, key: &str, status: &str) -> Value {
    app.get(&format!("/api/v1/conversations?status={status}"), key).await.expect(200)
}

#[actix_web::test]
async fn inbound_messages_are_stored_once_per_message_sid() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let params = inbound(&twilio, "SM0001", &customer(1), "Oi, meu pedido não chegou");

    let response = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    assert!(response.header("content-type").unwrap().starts_with("text/xml"));
    assert!(response.text().contains("<Response/>"));
    // Twilio retries: the same MessageSid again answers 200 and stores nothing.
    assert_twiml(&post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await);

    let list = conversations(&app, &tenant.admin_key, "pending,progress").await;
    let ids = ids(&list);
    assert_eq!(ids.len(), 1);
    assert_eq!(list["items"][0]["status"], "progress");
    let messages =
        app.get(&format!("/api/v1/conversations/{}/messages", ids[0]), &tenant.admin_key).await.expect(200);
    assert_eq!(messages["items"].as_array().unwrap().len(), 1);
    assert_eq!(messages["items"][0]["provider_sid"], "SM0001");
    assert_eq!(messages["items"][0]["delivery_status"], "received");
}

#[actix_web::test]
async fn bad_signatures_unknown_accounts_and_bad_forms_store_nothing() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let params = inbound(&twilio, "SM0002", &customer(2), "Olá");

    let forged = compute_signature(
        &SecretString::new(auth_token(99)),
        &format!("{PUBLIC}/webhooks/twilio/inbound"),
        &params,
    );
    post_with_signature(&app, "/webhooks/twilio/inbound", &forged, &params)
        .await
        .problem(403, "invalid_signature");
    // Signed for another URL (a proxy's Host header must not matter).
    let other_url = compute_signature(
        &SecretString::new(&twilio.token),
        "http://evil.example/webhooks/twilio/inbound",
        &params,
    );
    post_with_signature(&app, "/webhooks/twilio/inbound", &other_url, &params)
        .await
        .problem(403, "invalid_signature");
    let stranger = Twilio { sid: account_sid(7), token: auth_token(7) };
    let unknown = inbound(&stranger, "SM0003", &customer(2), "Olá");
    post_signed(&app, "/webhooks/twilio/inbound", &stranger.token, &unknown)
        .await
        .problem(403, "invalid_signature");
    let no_from =
        form(&[("AccountSid", &twilio.sid), ("MessageSid", "SM0004"), ("To", BUSINESS), ("Body", "x")]);
    post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &no_from).await.invalid("From");
    let foreign_to = form(&[
        ("AccountSid", &twilio.sid),
        ("MessageSid", "SM0005"),
        ("From", &customer(2)),
        ("To", "+14155550000"),
        ("Body", "x"),
    ]);
    post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &foreign_to).await.invalid("To");
    let json =
        TestRequest::post().uri("/webhooks/twilio/inbound").set_json(json!({"AccountSid": twilio.sid}));
    assert_eq!(app.send(json).await.status.as_u16(), 415);

    assert!(ids(&conversations(&app, &tenant.admin_key, "pending,progress").await).is_empty());
}

#[actix_web::test]
async fn without_a_grace_period_a_conversation_that_ended_is_closed_at_once() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let at_once = json!({"enabled": true, "config": {"grace_seconds": 0}});
    app.put("/api/v1/features/closure_detection", &tenant.admin_key, &at_once).await.expect(200);
    let first = inbound(&twilio, "SM0010", &customer(3), "Oi, meu pedido chegou?");
    assert_twiml(&post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &first).await);
    let conversation = &ids(&conversations(&app, &tenant.admin_key, "progress").await)[0];
    app.message(&tenant.admin_key, conversation, "Chegou sim! Posso ajudar em algo mais?").await;

    let last = inbound(&twilio, "SM0011", &customer(3), "Não, obrigado! Tchau 👋");
    assert_twiml(&post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &last).await);

    let closed =
        app.get(&format!("/api/v1/conversations/{conversation}"), &tenant.admin_key).await.expect(200);
    assert_eq!(closed["status"], "user_closed", "{closed}");
    let messages = app
        .get(&format!("/api/v1/conversations/{conversation}/messages"), &tenant.admin_key)
        .await
        .expect(200);
    let last_id = text(&messages["items"][2]["id"]);
    let results =
        app.get(&format!("/api/v1/messages/{last_id}/ai-results"), &tenant.admin_key).await.expect(200);
    assert_eq!(results["items"][0]["kind"], "closure_detection");
    assert!(results["items"][0]["score"].as_f64().unwrap() >= 0.5);
}

#[actix_web::test]
async fn the_tenants_auto_reply_is_answered_as_twiml() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let reply = json!({"enabled": true, "config": {"message": "Recebido! <Já> respondemos & obrigado"}});
    app.put("/api/v1/features/auto_reply", &tenant.admin_key, &reply).await.expect(200);
    let params = inbound(&twilio, "SM0020", &customer(4), "Bom dia, preciso de ajuda");
    let response = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(response.status.as_u16(), 200);
    assert!(
        response.text().contains("<Message>Recebido! &lt;Já&gt; respondemos &amp; obrigado</Message>"),
        "{}",
        response.text()
    );
}

#[actix_web::test]
async fn outbound_messages_are_sent_through_twilio_and_statuses_only_move_forward() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let conversation = text(&app.conversation(&tenant.admin_key, 5).await["id"]);
    let message = app.message(&tenant.admin_key, &conversation, "Seu pedido saiu para entrega").await;
    assert_eq!(message["delivery_status"], "queued");

    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{}/Messages.json", twilio.sid)))
        .and(body_string_contains(
            "StatusCallback=http%3A%2F%2Flocalhost%3A8080%2Fwebhooks%2Ftwilio%2Fstatus",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SMout1", "status": "queued"})))
        .expect(1)
        .mount(&fake)
        .await;
    let gateway = TwilioGateway::new(&TwilioConfig {
        api_base_url: fake.uri(),
        status_callback_url: Some(format!("{PUBLIC}/webhooks/twilio/status")),
        ..TwilioConfig::default()
    })
    .unwrap();
    let dispatcher = dispatcher(&app, gateway);
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(dispatcher.run_once().await.unwrap().sent, 0, "sent once");

    let status = |value: &str| {
        form(&[("AccountSid", &twilio.sid), ("MessageSid", "SMout1"), ("MessageStatus", value)])
    };
    let path = "/webhooks/twilio/status";
    assert_eq!(
        post_signed(&app, path, &twilio.token, &status("delivered")).await.expect(200)["outcome"],
        "advanced"
    );
    assert_eq!(
        post_signed(&app, path, &twilio.token, &status("sent")).await.expect(200)["outcome"],
        "unchanged"
    );
    let unknown = form(&[("AccountSid", &twilio.sid), ("MessageSid", "SMnope"), ("MessageStatus", "sent")]);
    assert_eq!(post_signed(&app, path, &twilio.token, &unknown).await.expect(200)["outcome"], "unknown_sid");
    let bad = form(&[("AccountSid", &twilio.sid), ("MessageSid", "SMout1"), ("MessageStatus", "teleported")]);
    post_signed(&app, path, &twilio.token, &bad).await.invalid("MessageStatus");

    let id = text(&message["id"]);
    let stored = app.get(&format!("/api/v1/messages/{id}"), &tenant.admin_key).await.expect(200);
    assert_eq!(
        (stored["provider_sid"].as_str(), stored["delivery_status"].as_str()),
        (Some("SMout1"), Some("delivered"))
    );
}

#[actix_web::test]
async fn an_oversized_webhook_is_a_413_problem_and_stores_nothing() {
    let app = spawn_app_with_limit(2048).await;
    let acme = app.tenant("acme").await;
    let twilio = register_account(&app, &acme, 1).await;
    let params = inbound(&twilio, "SMbig", &customer(1), &"x".repeat(4096));
    let problem = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    let problem = problem.problem(413, "payload_too_large");
    assert!(problem["detail"].as_str().unwrap().contains("2048"), "{problem}");
    assert_eq!(conversations(&app, &acme.admin_key, "pending,progress").await["items"], json!([]));

    let params = inbound(&twilio, "SMsmall", &customer(1), "Oi");
    assert_twiml(&post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await);
}

#[actix_web::test]
async fn a_webhook_field_with_the_nul_character_is_422_and_never_stored_or_spooled() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let mut params = inbound(&twilio, "SM00nul", &customer(5), "oi\u{0}tudo bem");
    let response = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(response.status.as_u16(), 422, "{}", response.text());
    assert!(response.text().contains("NUL"), "{}", response.text());
    params.retain(|(name, _)| name != "Body");
    params.push(("Body".to_owned(), "oi".to_owned()));
    params.push(("ProfileName".to_owned(), "Ana\u{0}".to_owned()));
    let response = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(response.status.as_u16(), 422, "{}", response.text());
    assert!(response.text().contains("ProfileName"), "{}", response.text());
    let list = conversations(&app, &tenant.admin_key, "pending,progress").await;
    assert_eq!(list["items"], json!([]), "nothing stored");
}

#[actix_web::test]
async fn a_status_callback_names_its_message_in_the_signed_url_and_only_within_its_tenant() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let acme_twilio = register_account(&app, &acme, 1).await;
    let beta_twilio = register_account(&app, &beta, 2).await;
    let conversation = text(&app.conversation(&acme.admin_key, 6).await["id"]);
    let id = text(&app.message(&acme.admin_key, &conversation, "Seu pedido saiu").await["id"]);
    let path = format!("/webhooks/twilio/status?message_id={id}");
    let stored = || async { app.get(&format!("/api/v1/messages/{id}"), &acme.admin_key).await.expect(200) };

    // Beta's account signs a callback naming acme's message: nothing happens to it.
    let foreign =
        form(&[("AccountSid", &beta_twilio.sid), ("MessageSid", "SMbeta01"), ("MessageStatus", "failed")]);
    let answer = post_signed(&app, &path, &beta_twilio.token, &foreign).await.expect(200);
    assert_eq!(answer["outcome"], "unknown_sid");
    let untouched = stored().await;
    assert_eq!(
        (untouched["delivery_status"].as_str(), &untouched["provider_sid"]),
        (Some("queued"), &Value::Null)
    );

    // The signature covers the query: the same callback signed without it is refused.
    let ours =
        form(&[("AccountSid", &acme_twilio.sid), ("MessageSid", "SMacme01"), ("MessageStatus", "sent")]);
    let signed_without_query = compute_signature(
        &SecretString::new(&acme_twilio.token),
        &format!("{PUBLIC}/webhooks/twilio/status"),
        &ours,
    );
    post_with_signature(&app, &path, &signed_without_query, &ours).await.problem(403, "invalid_signature");

    // Signed as Twilio signs it, it is applied before the dispatcher has stored any SID.
    let answer = post_signed(&app, &path, &acme_twilio.token, &ours).await.expect(200);
    assert_eq!(answer["outcome"], "advanced");
    let applied = stored().await;
    assert_eq!(
        (applied["delivery_status"].as_str(), applied["provider_sid"].as_str()),
        (Some("sent"), Some("SMacme01"))
    );
}
