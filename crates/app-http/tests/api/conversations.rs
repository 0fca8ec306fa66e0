//! `/api/v1/conversations`: open, read, list with filters and pagination, close, extend.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::support::{BUSINESS, customer, ids, spawn_app, text};

fn time(value: &Value) -> DateTime<Utc> {
    text(value).parse().unwrap_or_else(|e| panic!("not a timestamp ({e}): {value}"))
}

#[actix_web::test]
async fn opening_twice_between_the_same_numbers_returns_the_same_conversation() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let body = json!({
        "customer_phone": customer(1), "business_phone": BUSINESS,
        "context": {"topic": "delivery"}, "metadata": {"crm_id": 42}
    });
    let created = app.post("/api/v1/conversations", &key, &body).await.expect(201);
    assert_eq!(created["channel"], "sms");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["customer_phone"], customer(1));
    assert_eq!(created["business_phone"], BUSINESS);
    assert_eq!(created["context"], json!({"topic": "delivery"}));
    assert_eq!(created["metadata"], json!({"crm_id": 42}));
    assert_eq!(created["message_count"], 0);
    assert!(created["closed_at"].is_null() && created["close_reason"].is_null());
    assert!(time(&created["expires_at"]) > time(&created["created_at"]));
    assert!(time(&created["max_expires_at"]) >= time(&created["expires_at"]));

    let again = app.post("/api/v1/conversations", &key, &body).await.expect(200);
    assert_eq!(again["id"], created["id"]);
    let other = json!({"customer_phone": customer(2), "business_phone": BUSINESS});
    let other = app.post("/api/v1/conversations", &key, &other).await.expect(201);
    assert_ne!(other["id"], created["id"]);

    let path = format!("/api/v1/conversations/{}", text(&created["id"]));
    let fetched = app.get(&path, &key).await.expect(200);
    assert_eq!(fetched, created);
}

#[actix_web::test]
async fn a_whatsapp_prefix_opens_a_whatsapp_conversation() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let body = json!({"customer_phone": format!("whatsapp:{}", customer(1)), "business_phone": BUSINESS});
    let created = app.post("/api/v1/conversations", &key, &body).await.expect(201);
    assert_eq!(created["channel"], "whatsapp");
    assert_eq!(created["customer_phone"], customer(1), "stored without the prefix");
    // An explicit `sms` contradicting the prefix is refused, naming the number.
    let body = json!({"customer_phone": format!("whatsapp:{}", customer(2)), "business_phone": BUSINESS, "channel": "sms"});
    app.post("/api/v1/conversations", &key, &body).await.invalid("customer_phone");
}

#[actix_web::test]
async fn listing_shows_active_conversations_by_default_and_filters_by_status() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let first = text(&app.conversation(&key, 1).await["id"]);
    let second = text(&app.conversation(&key, 2).await["id"]);
    let closed = text(&app.conversation(&key, 3).await["id"]);
    let path = format!("/api/v1/conversations/{closed}/close");
    app.post(&path, &key, &json!({"reason": "done"})).await.expect(200);

    let active = app.get("/api/v1/conversations", &key).await.expect(200);
    assert_eq!(ids(&active), [second.clone(), first.clone()], "newest first");
    assert!(active["next_cursor"].is_null());

    let done = app.get("/api/v1/conversations?status=agent_closed", &key).await.expect(200);
    assert_eq!(ids(&done), [closed.as_str()]);
    let both = app.get("/api/v1/conversations?status=pending,%20agent_closed", &key).await.expect(200);
    assert_eq!(ids(&both), [closed, second, first]);
    let none = app.get("/api/v1/conversations?status=failed", &key).await.expect(200);
    assert_eq!(none["items"], json!([]));

    let problem = app.get("/api/v1/conversations?status=pending,archived", &key).await.invalid("status");
    assert!(problem["detail"].as_str().unwrap().contains("archived"), "{problem}");
}

#[actix_web::test]
async fn pagination_walks_every_conversation_once() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let mut opened = Vec::new();
    for n in 1..=5 {
        opened.push(text(&app.conversation(&key, n).await["id"]));
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/api/v1/conversations?limit=2".to_owned();
    loop {
        let page = app.get(&path, &key).await.expect(200);
        sizes.push(page["items"].as_array().unwrap().len());
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/conversations?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [2, 2, 1]);
    opened.reverse();
    assert_eq!(seen, opened, "newest first, each once");
}

#[actix_web::test]
async fn bad_pagination_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    for query in ["limit=0", "limit=201", "limit=-1", "limit=ten"] {
        let response = app.get(&format!("/api/v1/conversations?{query}"), &key).await;
        let problem = response.invalid("limit");
        assert!(problem["detail"].as_str().unwrap().contains("limit"), "{query}: {problem}");
    }
    app.get("/api/v1/conversations?limit=200", &key).await.expect(200);
    app.get("/api/v1/conversations?cursor=not-a-cursor!", &key).await.invalid("cursor");
    app.get("/api/v1/conversations?cursor=AAAA", &key).await.invalid("cursor");
}

#[actix_web::test]
async fn closing_records_why_and_a_second_close_is_a_conflict() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let id = text(&app.conversation(&key, 1).await["id"]);
    let path = format!("/api/v1/conversations/{id}/close");
    app.post(&path, &key, &json!({"reason": "x", "status": "expired"})).await.invalid("status");
    app.post(&path, &key, &json!({"reason": ""})).await.invalid("reason");
    app.post(&path, &key, &json!({"reason": "r".repeat(501)})).await.invalid("reason");

    let closed =
        app.post(&path, &key, &json!({"reason": "answered", "status": "support_closed"})).await.expect(200);
    assert_eq!(closed["status"], "support_closed");
    assert_eq!(closed["close_reason"], "answered");
    assert!(!closed["closed_at"].is_null());

    let problem =
        app.post(&path, &key, &json!({"reason": "again"})).await.problem(409, "conversation_closed");
    assert!(problem["detail"].as_str().unwrap().contains("support_closed"), "{problem}");
    let fetched = app.get(&format!("/api/v1/conversations/{id}"), &key).await.expect(200);
    assert_eq!(fetched["close_reason"], "answered", "the second close changed nothing");
    // Closed, the numbers are free again: a new conversation is opened.
    let reopened = app.conversation(&key, 1).await;
    assert_ne!(text(&reopened["id"]), id);
}

#[actix_web::test]
async fn extending_moves_the_expiry_later_and_is_refused_when_closed() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let opened = app.conversation(&key, 1).await;
    let id = text(&opened["id"]);
    let path = format!("/api/v1/conversations/{id}/extend");
    let extended = app.post(&path, &key, &json!({"seconds": 3600})).await.expect(200);
    assert!(time(&extended["expires_at"]) > time(&opened["expires_at"]), "{extended}");
    assert!(time(&extended["expires_at"]) <= time(&extended["max_expires_at"]));

    app.post(&path, &key, &json!({"seconds": 0})).await.invalid("seconds");
    app.post(&path, &key, &json!({"seconds": -5})).await.invalid("seconds");
    app.post(&path, &key, &json!({"seconds": "soon"})).await.invalid("seconds");
    let unchanged = app.get(&format!("/api/v1/conversations/{id}"), &key).await.expect(200);
    assert_eq!(unchanged["expires_at"], extended["expires_at"]);

    app.post(&format!("/api/v1/conversations/{id}/close"), &key, &json!({"reason": "done"}))
        .await
        .expect(200);
    app.post(&path, &key, &json!({"seconds": 60})).await.problem(409, "conversation_closed");
}

#[actix_web::test]
async fn unknown_or_malformed_ids_are_404() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let unknown = "0190f3c4-0000-7000-8000-000000000000";
    for id in [unknown, "not-a-uuid", "42"] {
        app.get(&format!("/api/v1/conversations/{id}"), &key).await.problem(404, "not_found");
        let close = format!("/api/v1/conversations/{id}/close");
        app.post(&close, &key, &json!({"reason": "x"})).await.problem(404, "not_found");
        let extend = format!("/api/v1/conversations/{id}/extend");
        app.post(&extend, &key, &json!({"seconds": 60})).await.problem(404, "not_found");
    }
}
