//! Group commit of the webhook's statements: inbound messages (and closure detection's
//! verdicts) that arrive together are stored in one statement, with exactly the outcome each
//! would have had alone.

mod support;

use std::collections::HashMap;

use adapters_postgres::{InboundBatching, PgStore};
use domain::{ConversationId, ConversationStatus, MessageId, NewAiResult, OwnerId, PendingClosure};
use ports::{ClosureVerdict, ConversationStore, InboundStored, MessageStore, StoreError};
use serde_json::json;
use support::{at, candidate, create_tenant, customer, inbound, message_sid, store};
use test_db::TestDb;

fn batching(db: &TestDb, flushers: usize) -> PgStore {
    store(db).with_inbound_batching(InboundBatching { flushers, max_batch: 16 })
}

/// 2 tenants × 10 customers × 10 messages, all delivered at once.
async fn deliver_all(store: &PgStore, tenants: [OwnerId; 2]) -> Vec<InboundStored> {
    let mut tasks = Vec::new();
    for tenant in tenants {
        for c in 0..10 {
            for m in 0..10 {
                let sid = message_sid(c * 10 + m);
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let candidate = candidate(tenant, &customer(c), at(0));
                    store.store_inbound(candidate, inbound(&sid, "oi"), 5, at(m as i64)).await
                }));
            }
        }
    }
    let mut stored = Vec::new();
    for task in tasks {
        stored.push(task.await.expect("task ran").expect("every message is stored"));
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_webhooks_are_stored_in_batches_once_each_and_in_turn() {
    let db = TestDb::new().await;
    let store = batching(&db, 2);
    let tenants = [create_tenant(&store, "acme").await.id(), create_tenant(&store, "globex").await.id()];

    let first = deliver_all(&store, tenants).await;
    let stats = store.webhook_batch_stats().inbound;
    assert!(stats.batches > 0, "messages that arrived together were stored together: {stats:?}");
    // Batches lock conversations in one order: concurrent batches sharing conversations
    // never deadlock, so none had to be stored again message by message.
    assert_eq!(stats.fallbacks, 0, "no batch failed: {stats:?}");
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 200, "each message once");
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 20, "one per customer");
    assert!(first.iter().all(|s| !s.duplicate));
    let mut counts: HashMap<ConversationId, Vec<i64>> = HashMap::new();
    for stored in &first {
        counts.entry(stored.conversation.id).or_default().push(stored.conversation.message_count);
        // The window read in the statement: the turns before the message, then the message.
        assert_eq!(stored.recent.len() as i64, stored.conversation.message_count.min(5));
    }
    for mut seen in counts.into_values() {
        seen.sort_unstable();
        assert_eq!(seen, (1..=10).collect::<Vec<_>>(), "each message was recorded once, in turn");
    }

    // Twilio delivers every one of them again, all at once: each answers the stored message.
    let ids: HashMap<(OwnerId, Option<String>), MessageId> = first
        .iter()
        .map(|s| ((s.conversation.owner_id, s.message.provider_sid.clone()), s.message.id))
        .collect();
    for again in deliver_all(&store, tenants).await {
        assert!(again.duplicate, "a redelivery is a duplicate");
        assert_eq!(ids[&(again.conversation.owner_id, again.message.provider_sid.clone())], again.message.id);
    }
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 200, "nothing stored twice");

    // The batch statements write their events themselves (the triggers stand aside): one per
    // message and per opened conversation, none for the redeliveries, with the data the
    // triggers render.
    let events = |kind: &str| format!("SELECT count(*) AS count FROM events WHERE type = '{kind}'");
    assert_eq!(db.count(&events("message.created")).await, 200, "one message.created per message");
    assert_eq!(db.count(&events("conversation.created")).await, 20, "one conversation.created each");
    assert_eq!(db.count("SELECT count(*) AS count FROM events").await, 220, "no other event, none twice");
    let rendered = db
        .count(
            "SELECT count(*) AS count FROM events e JOIN messages m ON m.owner_id = e.owner_id \
             AND m.id = (e.data->>'id')::uuid \
             WHERE e.type = 'message.created' AND e.conversation_id = m.conversation_id \
             AND e.data = app_message_json(m)",
        )
        .await;
    assert_eq!(rendered, 200, "each message's event carries the message as the triggers render it");
    // (Within one transaction a conversation's event comes before its messages'; across two
    // flushers' transactions the position follows the transaction ids: ADR 0018.)
    let opened = db
        .count(
            "SELECT count(*) AS count FROM events c JOIN conversations v ON v.owner_id = c.owner_id \
             AND v.id = c.conversation_id \
             WHERE c.type = 'conversation.created' AND (c.data->>'message_count')::int = 1 \
             AND c.data->>'customer_phone' = v.customer_phone",
        )
        .await;
    assert_eq!(opened, 20, "each conversation.created carries the conversation as opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_message_the_database_refuses_fails_alone_not_its_batch() {
    let db = TestDb::new().await;
    // One flusher: while it stores the first message, the others queue up behind it and are
    // taken as batches.
    let store = batching(&db, 1);
    let acme = create_tenant(&store, "acme").await;

    let mut tasks = Vec::new();
    for n in 0..61 {
        let store = store.clone();
        let owner_id = acme.id();
        tasks.push(tokio::spawn(async move {
            let mut message = inbound(&message_sid(n), "oi");
            if n == 30 {
                // Not an object: the column's domain refuses it.
                message.context = json!(["not", "an", "object"]);
            }
            store.store_inbound(candidate(owner_id, &customer(n), at(0)), message, 0, at(0)).await
        }));
    }
    let mut refused = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task ran") {
            Ok(stored) => assert!(!stored.duplicate),
            Err(error) => refused.push((n, error)),
        }
    }
    assert_eq!(refused.len(), 1, "only the bad message is refused: {refused:?}");
    assert_eq!(refused[0].0, 30);
    assert!(!matches!(refused[0].1, StoreError::Unavailable(_)), "bad data is not 'try again': {refused:?}");
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 60);
    let stats = store.webhook_batch_stats().inbound;
    assert!(stats.fallbacks >= 1, "the batch holding it was stored again message by message: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn closure_verdicts_that_arrive_together_are_applied_together_each_as_alone() {
    let db = TestDb::new().await;
    let store = batching(&db, 1);
    let acme = create_tenant(&store, "acme").await;
    let mut stored = Vec::new();
    for c in 0..40 {
        let candidate = candidate(acme.id(), &customer(c), at(0));
        stored.push(
            store.store_inbound(candidate, inbound(&message_sid(c), "obrigado!"), 5, at(0)).await.unwrap(),
        );
    }

    // 30 closes and 10 pending closures at once; 5 of the closes name a message that is not
    // the conversation's (another conversation's), which closes nothing.
    let mut tasks = Vec::new();
    for (n, inbound) in stored.iter().enumerate() {
        let store = store.clone();
        let (owner_id, id) = (inbound.conversation.owner_id, inbound.conversation.id);
        let own = inbound.message.id;
        let foreign = stored[(n + 1) % stored.len()].message.id;
        tasks.push(tokio::spawn(async move {
            if n < 30 {
                let message_id = if n < 5 { foreign } else { own };
                let assessment = NewAiResult {
                    kind: String::new(),
                    model: Some("rules-v1".to_owned()),
                    content: json!({"should_close": true}),
                    score: Some(0.9),
                };
                let verdict = ClosureVerdict {
                    message_id,
                    confirms_pending: false,
                    reason: "bye".to_owned(),
                    assessment,
                };
                store.close_detected(owner_id, id, verdict, at(1)).await.map(|closed| closed.conversation)
            } else {
                let pending = PendingClosure {
                    message_id: own,
                    closes_at: at(120),
                    score: 0.9,
                    reason: "bye".to_owned(),
                };
                store.propose_closure(owner_id, id, pending, at(1)).await
            }
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task ran"));
    }
    for (n, outcome) in outcomes.iter().enumerate() {
        match (n, outcome) {
            (0..5, Err(StoreError::NotFound)) => {}
            (5..30, Ok(conversation)) => assert_eq!(conversation.status, ConversationStatus::UserClosed),
            (30.., Ok(conversation)) => {
                assert_eq!(conversation.status, ConversationStatus::Progress);
                assert_eq!(conversation.pending_closure.as_ref().map(|p| p.closes_at), Some(at(120)));
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(
        db.count("SELECT count(*) AS count FROM conversations WHERE status = 'user_closed'").await,
        25
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM ai_results").await, 25, "one assessment per close");
    assert_eq!(
        db.count("SELECT count(*) AS count FROM conversations WHERE pending_closure_message_id IS NOT NULL")
            .await,
        10
    );
    let closed_events = db
        .count(
            "SELECT count(*) AS count FROM events e JOIN conversations c ON c.owner_id = e.owner_id \
             AND c.id = e.conversation_id \
             WHERE e.type = 'conversation.closed' AND e.data = app_conversation_json(c)",
        )
        .await;
    assert_eq!(closed_events, 25, "one conversation.closed per close, the conversation as closed");
    let stats = store.webhook_batch_stats();
    assert!(stats.closes.batches > 0 && stats.proposals.batched + stats.proposals.single == 10, "{stats:?}");
    assert_eq!(stats.closes.fallbacks + stats.proposals.fallbacks, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_batch_closes_conversations_past_their_expiry_and_opens_new_ones() {
    let db = TestDb::new().await;
    let store = batching(&db, 1);
    let acme = create_tenant(&store, "acme").await;
    // 30 conversations, opened at 0 and never swept.
    let mut opened = Vec::new();
    for c in 0..30 {
        let candidate = candidate(acme.id(), &customer(c), at(0));
        opened.push(store.store_inbound(candidate, inbound(&message_sid(c), "oi"), 5, at(0)).await.unwrap());
    }
    let expires_at = opened[0].conversation.expires_at;
    let later = (expires_at - at(0)).num_seconds() + 60;

    // Each customer writes again after the expiry, all at once: batches form behind the one
    // flusher, and each message closes its expired conversation and opens a new one.
    let mut tasks = Vec::new();
    for c in 0..30 {
        let store = store.clone();
        let owner_id = acme.id();
        tasks.push(tokio::spawn(async move {
            let candidate = candidate(owner_id, &customer(c), at(later));
            store.store_inbound(candidate, inbound(&message_sid(100 + c), "de novo"), 5, at(later)).await
        }));
    }
    for (c, task) in tasks.into_iter().enumerate() {
        let stored = task.await.expect("task ran").expect("stored");
        assert!(stored.conversation_created, "a new conversation is opened");
        assert_ne!(stored.conversation.id, opened[c].conversation.id);
        assert_eq!(stored.conversation.message_count, 1);
        assert_eq!(stored.recent.len(), 1, "the window of a new conversation is the message alone");
    }
    let stats = store.webhook_batch_stats().inbound;
    assert!(stats.batches > 0 && stats.fallbacks == 0, "stored in batches, none one by one: {stats:?}");
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations WHERE status = 'expired'").await, 30);
    assert_eq!(
        db.count("SELECT count(*) AS count FROM conversations WHERE status = 'progress'").await,
        30,
        "one active conversation per customer"
    );
    let events = |kind: &str| format!("SELECT count(*) AS count FROM events WHERE type = '{kind}'");
    assert_eq!(db.count(&events("conversation.closed")).await, 30);
    assert_eq!(db.count(&events("conversation.created")).await, 60);
}
