//! Closure that waits for the customer to finish: a goodbye records a pending closure instead
//! of closing; a newer customer message drops it; the sweeper confirms it when the grace period
//! is over, once, however many sweepers run.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use services::{LifecycleSweeper, SweepReport};

use crate::delivery::TestClock;
use crate::support::*;
use crate::webhooks::{Twilio, inbound, post_signed, register_account};

const INBOUND: &str = "/webhooks/twilio/inbound";

fn sweeper(app: &TestApp, clock: Arc<TestClock>, batch_size: u32) -> LifecycleSweeper {
    let store = Arc::new(app.state.store.clone());
    LifecycleSweeper {
        conversations: store.clone(),
        messages: store.clone(),
        features: store,
        clock,
        batch_size,
    }
}

async fn say(app: &TestApp, twilio: &Twilio, sid: &str, customer: &str, text: &str) {
    let response = post_signed(app, INBOUND, &twilio.token, &inbound(twilio, sid, customer, text)).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
}

async fn active(app: &TestApp, key: &str) -> Vec<Value> {
    let list = app.get("/api/v1/conversations?status=pending,progress&limit=100", key).await.expect(200);
    list["items"].as_array().unwrap().clone()
}

async fn conversation(app: &TestApp, key: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/conversations/{id}"), key).await.expect(200)
}

async fn grace(app: &TestApp, key: &str, seconds: u64) {
    let config = json!({"enabled": true, "config": {"grace_seconds": seconds}});
    app.put("/api/v1/features/closure_detection", key, &config).await.expect(200);
}

#[actix_web::test]
async fn a_second_message_right_after_thanks_keeps_one_conversation_open() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let key = &tenant.admin_key;
    say(&app, &twilio, "SMpc0001", &customer(1), "Oi, meu pedido 123 já saiu para entrega?").await;
    let id = text(&active(&app, key).await[0]["id"]);
    assert_eq!(conversation(&app, key, &id).await["pending_closure"], Value::Null);
    app.message(key, &id, "Saiu hoje cedo, chega até as 18h. Posso ajudar em algo mais?").await;

    say(&app, &twilio, "SMpc0002", &customer(1), "Obrigado!").await;
    let waiting = conversation(&app, key, &id).await;
    assert_eq!(waiting["status"], "progress", "a goodbye no longer closes at once: {waiting}");
    let pending = &waiting["pending_closure"];
    assert!(pending["closes_at"].is_string() && pending["score"].as_f64().unwrap() >= 0.65, "{waiting}");
    assert!(!pending["reason"].as_str().unwrap().is_empty(), "{waiting}");
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), key).await.expect(200);
    assert_eq!(pending["message_id"], messages["items"][2]["id"], "based on the thanks");

    say(&app, &twilio, "SMpc0003", &customer(1), "Ah, e mais uma coisa: vocês entregam em Campinas?").await;
    let open = active(&app, key).await;
    assert_eq!(open.len(), 1, "one conversation: {open:?}");
    let after = conversation(&app, key, &id).await;
    assert_eq!(
        (after["status"].as_str(), &after["pending_closure"]),
        (Some("progress"), &Value::Null),
        "{after}"
    );
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), key).await.expect(200);
    let bodies: Vec<&str> =
        messages["items"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 4, "both customer messages in it: {bodies:?}");

    // The sweeper, past the grace period, has nothing to confirm.
    let clock = TestClock::starting_now();
    clock.advance(Duration::seconds(121));
    assert_eq!(sweeper(&app, clock, 10).run_once().await.unwrap(), SweepReport::default());
    assert_eq!(conversation(&app, key, &id).await["status"], "progress");
}

#[actix_web::test]
async fn a_goodbye_followed_by_silence_closes_when_the_grace_period_ends() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let key = &tenant.admin_key;
    grace(&app, key, 3).await;
    say(&app, &twilio, "SMpc0101", &customer(2), "Obrigado, era só isso. Tchau!").await;
    let id = text(&active(&app, key).await[0]["id"]);
    assert!(conversation(&app, key, &id).await["pending_closure"].is_object());

    let clock = TestClock::starting_now();
    let sweeper = sweeper(&app, clock.clone(), 10);
    clock.advance(Duration::seconds(2));
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport::default(), "not due before 3 s");
    assert_eq!(conversation(&app, key, &id).await["status"], "progress");
    clock.advance(Duration::seconds(2));
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport { user_closed: 1, ..SweepReport::default() });
    let closed = conversation(&app, key, &id).await;
    assert_eq!(closed["status"], "user_closed", "{closed}");
    assert_eq!(closed["pending_closure"], Value::Null, "{closed}");
    assert!(!closed["close_reason"].as_str().unwrap().is_empty(), "{closed}");
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), key).await.expect(200);
    let goodbye = text(&messages["items"][0]["id"]);
    let results = app.get(&format!("/api/v1/messages/{goodbye}/ai-results"), key).await.expect(200);
    let results = results["items"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["kind"], "closure_detection");
    assert_eq!(results[0]["content"]["should_close"], true);
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport::default(), "closed once");
}

#[actix_web::test]
async fn an_agent_goodbye_keeps_a_pending_closure_and_an_agent_question_drops_it() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let key = &tenant.admin_key;
    say(&app, &twilio, "SMpc0201", &customer(3), "Valeu, resolvido! Tchau").await;
    let id = text(&active(&app, key).await[0]["id"]);
    let pending = conversation(&app, key, &id).await["pending_closure"].clone();
    assert!(pending.is_object());
    app.message(key, &id, "Por nada! Tenha um ótimo dia 😊").await;
    assert_eq!(conversation(&app, key, &id).await["pending_closure"], pending, "an agent's goodbye keeps it");
    app.message(key, &id, "Aliás, quer conhecer nosso plano anual com desconto?").await;
    assert_eq!(conversation(&app, key, &id).await["pending_closure"], Value::Null, "an offer drops it");
}

#[actix_web::test]
async fn an_explicit_close_wins_over_a_pending_closure() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let key = &tenant.admin_key;
    say(&app, &twilio, "SMpc0301", &customer(4), "Obrigado, tchau!").await;
    let id = text(&active(&app, key).await[0]["id"]);
    let body = json!({"status": "agent_closed", "reason": "resolvido pelo atendente"});
    let closed = app.post(&format!("/api/v1/conversations/{id}/close"), key, &body).await.expect(200);
    assert_eq!((closed["status"].as_str(), &closed["pending_closure"]), (Some("agent_closed"), &Value::Null));
    let clock = TestClock::starting_now();
    clock.advance(Duration::seconds(300));
    assert_eq!(sweeper(&app, clock, 10).run_once().await.unwrap(), SweepReport::default());
    assert_eq!(conversation(&app, key, &id).await["status"], "agent_closed");
}

#[actix_web::test]
async fn two_sweepers_close_each_of_200_due_pending_closures_exactly_once() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let key = &tenant.admin_key;
    for n in 0..200 {
        say(&app, &twilio, &format!("SMpc1{n:04}"), &customer(100 + n), "Obrigado, era só isso. Tchau!")
            .await;
    }
    let pending =
        every(&app, key, "progress").await.iter().filter(|c| c["pending_closure"].is_object()).count();
    assert_eq!(pending, 200);

    let clock = TestClock::starting_now();
    clock.advance(Duration::seconds(121));
    let (one, two) = (sweeper(&app, clock.clone(), 7), sweeper(&app, clock, 7));
    let (first, second) = tokio::join!(one.run_once(), two.run_once());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.user_closed + second.user_closed, 200, "{first:?} {second:?}");
    assert!(first.user_closed > 0 && second.user_closed > 0, "both took part: {first:?} {second:?}");
    assert_eq!(first.kept_open + second.kept_open, 0);

    let closed = every(&app, key, "user_closed").await;
    assert_eq!(closed.len(), 200);
    assert_eq!(active(&app, key).await.len(), 0);
    for conversation in &closed {
        let id = text(&conversation["id"]);
        let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), key).await.expect(200);
        let goodbye = text(&messages["items"][0]["id"]);
        let results = app.get(&format!("/api/v1/messages/{goodbye}/ai-results"), key).await.expect(200);
        assert_eq!(results["items"].as_array().unwrap().len(), 1, "one assessment recorded for {id}");
    }
}

/// Every conversation of the tenant in `status`, all pages.
async fn every(app: &TestApp, key: &str, status: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_ref().map_or(String::new(), |cursor| format!("&cursor={cursor}"));
        let page = app
            .get(&format!("/api/v1/conversations?status={status}&limit=100{cursor}"), key)
            .await
            .expect(200);
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => return items,
        }
    }
}
