//! Tenant isolation: another tenant's admin sees none of a tenant's resources, by id or in
//! listings, and changes nothing.

use serde_json::{Value, json};

use crate::support::{Response, TestApp, account_sid, auth_token, ids, spawn_app, text};

enum Call {
    Get(String),
    Post(String, Value),
}

impl Call {
    async fn send(&self, app: &TestApp, key: &str) -> Response {
        match self {
            Self::Get(path) => app.get(path, key).await,
            Self::Post(path, body) => app.post(path, key, body).await,
        }
    }

    fn describe(&self) -> &str {
        match self {
            Self::Get(path) | Self::Post(path, _) => path,
        }
    }
}

#[actix_web::test]
async fn another_tenants_admin_gets_404_on_every_resource_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("beta").await;
    let a_agent = app.member(&a, "agent").await;
    let conversation = app.conversation(&a.admin_key, 1).await;
    let c = text(&conversation["id"]);
    let m = text(&app.message(&a.admin_key, &c, "hello").await["id"]);
    let ai = json!({"kind": "sentiment", "content": {"label": "neutral"}});
    app.post(&format!("/api/v1/messages/{m}/ai-results"), &a.admin_key, &ai).await.expect(201);
    let account = json!({"account_sid": account_sid(1), "auth_token": auth_token(1), "phone_numbers": ["+5511940000001"]});
    let t = text(&app.post("/api/v1/twilio-accounts", &a.admin_key, &account).await.expect(201)["id"]);

    let conversation_path = format!("/api/v1/conversations/{c}");
    let before = app.get(&conversation_path, &a.admin_key).await.expect(200);
    let calls = [
        Call::Get(format!("/api/v1/conversations/{c}")),
        Call::Post(format!("/api/v1/conversations/{c}/close"), json!({"reason": "hijack"})),
        Call::Post(format!("/api/v1/conversations/{c}/extend"), json!({"seconds": 3600})),
        Call::Post(format!("/api/v1/conversations/{c}/messages"), json!({"body": "spam"})),
        Call::Get(format!("/api/v1/conversations/{c}/messages")),
        Call::Get(format!("/api/v1/messages/{m}")),
        Call::Post(format!("/api/v1/messages/{m}/ai-results"), ai.clone()),
        Call::Get(format!("/api/v1/messages/{m}/ai-results")),
        Call::Get(format!("/api/v1/users/{}", a_agent.user_id)),
        Call::Get(format!("/api/v1/users/{}", a.admin_id)),
        Call::Post(format!("/api/v1/api-keys/{}/revoke", a_agent.key_id), json!({})),
        Call::Post(format!("/api/v1/api-keys/{}/revoke", a.admin_key_id), json!({})),
        Call::Get(format!("/api/v1/twilio-accounts/{t}")),
    ];
    for call in &calls {
        let response = call.send(&app, &b.admin_key).await;
        assert_eq!(response.status.as_u16(), 404, "{}: {}", call.describe(), response.text());
        let problem = response.problem(404, "not_found");
        assert_eq!(problem["detail"], "no such resource", "{}: {problem}", call.describe());
    }
    // A key for A's user cannot be minted from B either.
    let mint = json!({"user_id": a_agent.user_id, "name": "backdoor"});
    app.post("/api/v1/api-keys", &b.admin_key, &mint).await.invalid("user_id");

    // A's data is as it was.
    let after = app.get(&conversation_path, &a.admin_key).await.expect(200);
    assert_eq!(after, before, "not closed, extended or written to");
    assert_eq!(after["status"], "progress");
    assert!(after["closed_at"].is_null());
    assert_eq!(after["message_count"], 1);
    let messages = app.get(&format!("/api/v1/conversations/{c}/messages"), &a.admin_key).await.expect(200);
    assert_eq!(ids(&messages), [m.as_str()]);
    let results = app.get(&format!("/api/v1/messages/{m}/ai-results"), &a.admin_key).await.expect(200);
    assert_eq!(results["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/conversations", &a_agent.key).await.expect(200);
    let keys = app.get("/api/v1/api-keys", &a.admin_key).await.expect(200);
    assert!(keys["items"].as_array().unwrap().iter().all(|k| k["revoked_at"].is_null()), "{keys}");

    // B's listings show only B's own.
    let listed = app.get("/api/v1/conversations?status=pending,progress,agent_closed", &b.admin_key).await;
    assert_eq!(listed.expect(200)["items"], json!([]));
    assert_eq!(ids(&app.get("/api/v1/users", &b.admin_key).await.expect(200)), [b.admin_id.as_str()]);
    assert_eq!(
        app.get("/api/v1/api-keys", &b.admin_key).await.expect(200)["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(app.get("/api/v1/twilio-accounts", &b.admin_key).await.expect(200)["items"], json!([]));
}

#[actix_web::test]
async fn the_same_numbers_open_separate_conversations_per_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("beta").await;
    let in_a = app.conversation(&a.admin_key, 1).await;
    let in_b = app.conversation(&b.admin_key, 1).await;
    assert_ne!(in_a["id"], in_b["id"]);
    assert_eq!(ids(&app.get("/api/v1/conversations", &a.admin_key).await.expect(200)), [text(&in_a["id"])]);
    assert_eq!(ids(&app.get("/api/v1/conversations", &b.admin_key).await.expect(200)), [text(&in_b["id"])]);
    // Features are per tenant too.
    app.put("/api/v1/features/closure_detection", &a.admin_key, &json!({"config": {}})).await.expect(200);
    app.get("/api/v1/features/closure_detection", &b.admin_key).await.problem(404, "not_found");
}
