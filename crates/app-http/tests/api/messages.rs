//! Messages of a conversation and AI results of a message.

use serde_json::json;

use crate::support::{BUSINESS, customer, ids, spawn_app, text};

#[actix_web::test]
async fn an_agent_message_is_stored_and_queued() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let agent = app.member(&tenant, "agent").await;
    let conversation = text(&app.conversation(&agent.key, 1).await["id"]);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let body = json!({"body": "Your order ships today!", "metadata": {"ticket": 7}});
    let message = app.post(&path, &agent.key, &body).await.expect(201);
    assert_eq!(message["conversation_id"], conversation);
    assert_eq!(message["direction"], "outbound");
    assert_eq!(message["sender"], "agent");
    assert_eq!(message["delivery_status"], "queued");
    assert_eq!(message["body"], "Your order ships today!");
    assert_eq!(message["metadata"], json!({"ticket": 7}));
    assert!(message["provider_sid"].is_null());

    let system = json!({"sender": "system", "media": [{"url": "https://example.com/r.jpg", "content_type": "image/jpeg"}]});
    let system = app.post(&path, &agent.key, &system).await.expect(201);
    assert_eq!(system["sender"], "system");
    assert_eq!(system["media"], json!([{"url": "https://example.com/r.jpg", "content_type": "image/jpeg"}]));

    let fetched =
        app.get(&format!("/api/v1/messages/{}", text(&message["id"])), &agent.key).await.expect(200);
    assert_eq!(fetched, message);
    let conversation =
        app.get(&format!("/api/v1/conversations/{conversation}"), &agent.key).await.expect(200);
    assert_eq!(conversation["message_count"], 2);
    assert!(!conversation["last_message_at"].is_null());
}

#[actix_web::test]
async fn messages_are_listed_oldest_first_page_by_page() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let conversation = text(&app.conversation(&key, 1).await["id"]);
    let mut written = Vec::new();
    for n in 1..=3 {
        written.push(text(&app.message(&key, &conversation, &format!("message {n}")).await["id"]));
    }
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let all = app.get(&path, &key).await.expect(200);
    assert_eq!(ids(&all), written);
    assert!(all["next_cursor"].is_null());

    let first = app.get(&format!("{path}?limit=2"), &key).await.expect(200);
    assert_eq!(ids(&first), written[..2]);
    let cursor = text(&first["next_cursor"]);
    let second = app.get(&format!("{path}?limit=2&cursor={cursor}"), &key).await.expect(200);
    assert_eq!(ids(&second), written[2..]);
    assert!(second["next_cursor"].is_null());
    assert_eq!(second["items"][0]["body"], "message 3");

    app.get(&format!("{path}?limit=0"), &key).await.invalid("limit");
    app.get(&format!("{path}?cursor=%%%"), &key).await.invalid("cursor");
    let unknown = "/api/v1/conversations/0190f3c4-0000-7000-8000-000000000000/messages";
    app.get(unknown, &key).await.problem(404, "not_found");
}

#[actix_web::test]
async fn invalid_messages_are_422_naming_the_field() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let conversation = text(&app.conversation(&key, 1).await["id"]);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    app.post(&path, &key, &json!({})).await.invalid("body");
    app.post(&path, &key, &json!({"body": ""})).await.invalid("body");
    app.post(&path, &key, &json!({"body": "x".repeat(4097)})).await.invalid("body");
    app.post(&path, &key, &json!({"body": "hi", "sender": "user"})).await.invalid("sender");
    app.post(&path, &key, &json!({"body": "hi", "sender": "robot"})).await.invalid("sender");
    app.post(&path, &key, &json!({"media": [{"url": "ftp://x/y"}]})).await.invalid("media");
    app.post(&path, &key, &json!({"body": "hi", "context": "text"})).await.invalid("context");
    let listed = app.get(&path, &key).await.expect(200);
    assert_eq!(listed["items"], json!([]), "nothing was stored");
    let unknown = "/api/v1/conversations/0190f3c4-0000-7000-8000-000000000000/messages";
    app.post(unknown, &key, &json!({"body": "hi"})).await.problem(404, "not_found");
}

#[actix_web::test]
async fn writing_to_a_closed_conversation_is_a_conflict() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let conversation = text(&app.conversation(&key, 1).await["id"]);
    let close = format!("/api/v1/conversations/{conversation}/close");
    app.post(&close, &key, &json!({"reason": "done"})).await.expect(200);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    app.post(&path, &key, &json!({"body": "hello?"})).await.problem(409, "conversation_closed");
    assert_eq!(app.get(&path, &key).await.expect(200)["items"], json!([]));
}

#[actix_web::test]
async fn whatsapp_refuses_free_form_messages_before_the_customer_writes() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let body = json!({"customer_phone": format!("whatsapp:{}", customer(1)), "business_phone": format!("whatsapp:{BUSINESS}")});
    let conversation = app.post("/api/v1/conversations", &key, &body).await.expect(201);
    assert!(conversation["last_inbound_at"].is_null());
    let path = format!("/api/v1/conversations/{}/messages", text(&conversation["id"]));
    let problem = app.post(&path, &key, &json!({"body": "hello"})).await.problem(422, "rejected");
    assert!(problem["detail"].as_str().unwrap().contains("24 hours"), "{problem}");
    assert_eq!(app.get(&path, &key).await.expect(200)["items"], json!([]));
}

#[actix_web::test]
async fn ai_results_are_attached_to_a_message_and_listed_oldest_first() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let agent = app.member(&tenant, "agent").await;
    let conversation = text(&app.conversation(&agent.key, 1).await["id"]);
    let message = app.message(&agent.key, &conversation, "thanks, bye").await;
    let message_id = text(&message["id"]);
    let path = format!("/api/v1/messages/{message_id}/ai-results");

    let input =
        json!({"kind": "sentiment", "model": "gpt-x", "content": {"label": "positive"}, "score": 0.92});
    let first = app.post(&path, &agent.key, &input).await.expect(201);
    assert_eq!(first["message_id"], message_id);
    assert_eq!(first["conversation_id"], conversation);
    assert_eq!(first["kind"], "sentiment");
    assert_eq!(first["model"], "gpt-x");
    assert_eq!(first["content"], json!({"label": "positive"}));
    assert_eq!(first["score"], 0.92);
    let second =
        app.post(&path, &agent.key, &json!({"kind": "intent", "content": ["bye"]})).await.expect(201);
    assert!(second["score"].is_null() && second["model"].is_null());

    let listed = app.get(&path, &agent.key).await.expect(200);
    assert_eq!(ids(&listed), [text(&first["id"]), text(&second["id"])]);

    app.post(&path, &agent.key, &json!({"kind": "k", "content": {}, "score": 2})).await.invalid("score");
    app.post(&path, &agent.key, &json!({"kind": "k", "content": {}, "score": -0.1})).await.invalid("score");
    app.post(&path, &agent.key, &json!({"kind": "", "content": {}})).await.invalid("kind");
    app.post(&path, &agent.key, &json!({"kind": "k"})).await.problem(422, "invalid_input");
    assert_eq!(app.get(&path, &agent.key).await.expect(200)["items"].as_array().unwrap().len(), 2);

    let unknown = "0190f3c4-0000-7000-8000-000000000000";
    app.get(&format!("/api/v1/messages/{unknown}"), &agent.key).await.problem(404, "not_found");
    app.get(&format!("/api/v1/messages/{unknown}/ai-results"), &agent.key).await.problem(404, "not_found");
    let post = format!("/api/v1/messages/{unknown}/ai-results");
    app.post(&post, &agent.key, &json!({"kind": "k", "content": {}})).await.problem(404, "not_found");
    app.get("/api/v1/messages/nope", &agent.key).await.problem(404, "not_found");
}
