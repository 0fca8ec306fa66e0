//! Authentication by API key and the roles: viewers read, agents also write, admins also
//! administer.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::{TestApp, account_sid, auth_token, customer, spawn_app};

#[actix_web::test]
async fn a_request_without_credentials_is_a_401_problem() {
    let app = spawn_app().await;
    let problem = app.get_anonymous("/api/v1/conversations").await.problem(401, "unauthorized");
    assert_eq!(problem["title"], "Unauthorized");
    assert!(problem["detail"].as_str().unwrap().contains("Bearer"), "{problem}");
    // Writes are refused before the body is looked at.
    let write = TestRequest::post().uri("/api/v1/conversations").set_json(json!({}));
    app.send(write).await.problem(401, "unauthorized");
}

#[actix_web::test]
async fn malformed_or_unknown_keys_are_401() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let headers = [
        format!("Basic {}", tenant.admin_key),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        "Bearer cnv_0000000000000000000000000000000000000000".to_owned(),
        format!("Bearer {}x", tenant.admin_key),
        format!("Bearer {}", "k".repeat(300)),
    ];
    for header in headers {
        let request =
            TestRequest::get().uri("/api/v1/conversations").insert_header(("authorization", header.clone()));
        let response = app.send(request).await;
        assert_eq!(response.status.as_u16(), 401, "{header}: {}", response.text());
        response.problem(401, "unauthorized");
    }
    // The scheme is case-insensitive; the real key still works.
    let request = TestRequest::get()
        .uri("/api/v1/conversations")
        .insert_header(("authorization", format!("bearer {}", tenant.admin_key)));
    app.send(request).await.expect(200);
}

#[actix_web::test]
async fn a_revoked_key_is_401() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let agent = app.member(&tenant, "agent").await;
    app.get("/api/v1/conversations", &agent.key).await.expect(200);
    let path = format!("/api/v1/api-keys/{}/revoke", agent.key_id);
    app.post(&path, &tenant.admin_key, &json!({})).await.expect(200);
    app.get("/api/v1/conversations", &agent.key).await.problem(401, "unauthorized");
    // The admin's own key is unaffected.
    app.get("/api/v1/conversations", &tenant.admin_key).await.expect(200);
}

/// A tenant with one conversation, one message and a Twilio account, made by its admin.
struct Fixture {
    conversation: String,
    message: String,
    account: String,
    admin_id: String,
    admin_key_id: String,
}

async fn fixture(app: &TestApp, admin: &str, admin_id: &str, admin_key_id: &str) -> Fixture {
    let conversation = app.conversation(admin, 1).await["id"].as_str().unwrap().to_owned();
    let message = app.message(admin, &conversation, "hello").await["id"].as_str().unwrap().to_owned();
    let body = json!({"account_sid": account_sid(1), "auth_token": auth_token(1), "phone_numbers": ["+5511940000001"]});
    let account = app.post("/api/v1/twilio-accounts", admin, &body).await.expect(201);
    Fixture {
        conversation,
        message,
        account: account["id"].as_str().unwrap().to_owned(),
        admin_id: admin_id.to_owned(),
        admin_key_id: admin_key_id.to_owned(),
    }
}

enum Call {
    Get(String),
    Post(String, Value),
    Put(String, Value),
}

async fn call(app: &TestApp, key: &str, request: &Call) -> crate::support::Response {
    match request {
        Call::Get(path) => app.get(path, key).await,
        Call::Post(path, body) => app.post(path, key, body).await,
        Call::Put(path, body) => app.put(path, key, body).await,
    }
}

fn agent_writes(f: &Fixture) -> Vec<Call> {
    let c = &f.conversation;
    vec![
        Call::Post(
            "/api/v1/conversations".into(),
            json!({"customer_phone": customer(2), "business_phone": "+5511940000001"}),
        ),
        Call::Post(format!("/api/v1/conversations/{c}/close"), json!({"reason": "done"})),
        Call::Post(format!("/api/v1/conversations/{c}/extend"), json!({"seconds": 60})),
        Call::Post(format!("/api/v1/conversations/{c}/messages"), json!({"body": "hi"})),
        Call::Post(format!("/api/v1/messages/{}/ai-results", f.message), json!({"kind": "k", "content": {}})),
    ]
}

fn admin_calls(f: &Fixture) -> Vec<Call> {
    vec![
        Call::Post("/api/v1/users".into(), json!({"name": "Eve", "email": "eve@x.example", "role": "admin"})),
        Call::Get("/api/v1/users".into()),
        Call::Get(format!("/api/v1/users/{}", f.admin_id)),
        Call::Post("/api/v1/api-keys".into(), json!({"user_id": f.admin_id, "name": "mine now"})),
        Call::Get("/api/v1/api-keys".into()),
        Call::Post(format!("/api/v1/api-keys/{}/revoke", f.admin_key_id), json!({})),
        Call::Put("/api/v1/features/closure_detection".into(), json!({"config": {}})),
        Call::Post("/api/v1/features/closure_detection/enabled".into(), json!({"enabled": false})),
        Call::Post(
            "/api/v1/twilio-accounts".into(),
            json!({"account_sid": account_sid(2), "auth_token": auth_token(2), "phone_numbers": ["+5511940000002"]}),
        ),
        Call::Get("/api/v1/twilio-accounts".into()),
        Call::Get(format!("/api/v1/twilio-accounts/{}", f.account)),
    ]
}

fn reads(f: &Fixture) -> Vec<Call> {
    let c = &f.conversation;
    vec![
        Call::Get("/api/v1/conversations".into()),
        Call::Get(format!("/api/v1/conversations/{c}")),
        Call::Get(format!("/api/v1/conversations/{c}/messages")),
        Call::Get(format!("/api/v1/messages/{}", f.message)),
        Call::Get(format!("/api/v1/messages/{}/ai-results", f.message)),
        Call::Get("/api/v1/features".into()),
    ]
}

#[actix_web::test]
async fn a_viewer_reads_but_cannot_write_or_administer() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let f = fixture(&app, &tenant.admin_key, &tenant.admin_id, &tenant.admin_key_id).await;
    let viewer = app.member(&tenant, "viewer").await;
    for request in reads(&f) {
        let response = call(&app, &viewer.key, &request).await;
        assert_eq!(response.status.as_u16(), 200, "viewer read: {}", response.text());
    }
    let conversation = format!("/api/v1/conversations/{}", f.conversation);
    let before = app.get(&conversation, &viewer.key).await.expect(200);
    for request in agent_writes(&f).iter().chain(&admin_calls(&f)) {
        let problem = call(&app, &viewer.key, request).await.problem(403, "forbidden");
        assert_eq!(problem["title"], "Forbidden");
    }
    // Nothing was written: the conversation is as it was, with its one message.
    let after = app.get(&conversation, &viewer.key).await.expect(200);
    assert_eq!(after, before);
    assert_eq!(after["message_count"], 1);
    assert!(after["closed_at"].is_null());
    assert_eq!(
        app.get("/api/v1/users", &tenant.admin_key).await.expect(200)["items"].as_array().unwrap().len(),
        2
    );
}

#[actix_web::test]
async fn an_agent_writes_but_cannot_administer() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let f = fixture(&app, &tenant.admin_key, &tenant.admin_id, &tenant.admin_key_id).await;
    let agent = app.member(&tenant, "agent").await;
    for request in admin_calls(&f) {
        let problem = call(&app, &agent.key, &request).await.problem(403, "forbidden");
        assert!(problem["detail"].as_str().unwrap().contains("admin"), "{problem}");
    }
    for request in reads(&f) {
        call(&app, &agent.key, &request).await.expect(200);
    }
    let expected = [201, 200, 409, 409, 201];
    for (request, status) in agent_writes(&f).iter().zip(expected) {
        let response = call(&app, &agent.key, request).await;
        assert_eq!(response.status.as_u16(), status, "agent write: {}", response.text());
    }
    // The admin's key was not revoked by the agent's attempt.
    app.get("/api/v1/users", &tenant.admin_key).await.expect(200);
}
