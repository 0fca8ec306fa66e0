//! `MessageStore` on PostgreSQL: inbound storage, appends, lookups, keyset listings and AI
//! results.

mod support;

use std::collections::HashSet;

use domain::{ConversationId, ConversationStatus, DeliveryStatus, MessageDirection, MessageId, NewAiResult};
use ports::{ConversationStore, MessageStore, PageRequest, StoreError};
use serde_json::json;
use support::{
    at, base_time, candidate, candidate_with, create_tenant, customer, inbound, lifecycle, outbound, store,
};
use test_db::TestDb;

fn sentiment(score: f64) -> NewAiResult {
    NewAiResult {
        kind: "sentiment".to_owned(),
        model: Some("m-1".to_owned()),
        content: json!({"label": "ok"}),
        score: Some(score),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_inbound_message_opens_the_conversation_and_later_ones_join_it() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let first =
        store.store_inbound(candidate(acme.id(), &customer(1), at(0)), inbound("SM1", "oi"), 0, at(0));
    let first = first.await.unwrap();
    assert!(first.conversation_created && !first.duplicate);
    assert_eq!(first.conversation.status, ConversationStatus::Progress, "pending → progress");
    assert_eq!((first.conversation.message_count, first.conversation.last_inbound_at), (1, Some(at(0))));
    assert_eq!(first.message.conversation_id, first.conversation.id);
    assert_eq!(first.message.provider_sid.as_deref(), Some("SM1"));
    assert_eq!(first.message.delivery_status, DeliveryStatus::Received);
    assert_eq!(store.get_conversation(acme.id(), first.conversation.id).await.unwrap(), first.conversation);
    assert_eq!(store.get_message(acme.id(), first.message.id).await.unwrap(), first.message);

    let second = store.store_inbound(
        candidate(acme.id(), &customer(1), at(30)),
        inbound("SM2", "tudo bem?"),
        0,
        at(30),
    );
    let second = second.await.unwrap();
    assert!(!second.conversation_created && !second.duplicate);
    assert_eq!(second.conversation.id, first.conversation.id);
    assert_eq!(second.conversation.message_count, 2);
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_message_sid_is_stored_once() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let first =
        store.store_inbound(candidate(acme.id(), &customer(1), at(0)), inbound("SMdup", "oi"), 0, at(0));
    let first = first.await.unwrap();
    let retry =
        store.store_inbound(candidate(acme.id(), &customer(1), at(5)), inbound("SMdup", "oi"), 0, at(5));
    let retry = retry.await.unwrap();
    assert!(retry.duplicate && !retry.conversation_created);
    assert_eq!(retry.message, first.message, "the earlier copy is returned");
    assert_eq!(retry.conversation, first.conversation, "nothing was recorded twice");
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 1);
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_after_expiry_closes_the_old_conversation_and_opens_a_new_one() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let short = candidate_with(acme.id(), &customer(1), &lifecycle(60, 3600), at(0));
    let old = store.store_inbound(short, inbound("SM1", "oi"), 0, at(0)).await.unwrap();

    let late =
        store.store_inbound(candidate(acme.id(), &customer(1), at(120)), inbound("SM2", "oi?"), 0, at(120));
    let late = late.await.unwrap();
    assert!(late.conversation_created && late.conversation.id != old.conversation.id);
    let old = store.get_conversation(acme.id(), old.conversation.id).await.unwrap();
    assert_eq!(old.status, ConversationStatus::Expired);
}

#[tokio::test(flavor = "multi_thread")]
async fn append_records_the_message_and_enqueues_a_send_when_asked() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let (open, _) = store.open_or_get_active(candidate(acme.id(), &customer(1), at(0))).await.unwrap();

    let note =
        store.append_message(acme.id(), open.id, outbound("nota interna"), None, at(10)).await.unwrap();
    assert_eq!(
        (note.message.direction, note.message.delivery_status),
        (MessageDirection::Outbound, DeliveryStatus::Queued)
    );
    assert_eq!(
        (note.conversation.status, note.conversation.message_count),
        (ConversationStatus::Progress, 1)
    );
    assert_eq!(note.conversation.last_inbound_at, None, "an outbound message is not the customer's");
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);

    let reply = store
        .append_message(acme.id(), open.id, outbound("Olá!"), Some(domain::SendQuota::UNLIMITED), at(20))
        .await
        .unwrap();
    assert_eq!(reply.conversation.message_count, 2);
    assert_eq!(store.get_conversation(acme.id(), open.id).await.unwrap(), reply.conversation);
    let job = format!("SELECT count(*) AS count FROM send_jobs WHERE message_id = '{}'", reply.message.id);
    assert_eq!(db.count(&job).await, 1, "the message got its send job");
}

#[tokio::test(flavor = "multi_thread")]
async fn append_refuses_closed_unknown_and_foreign_conversations() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let (theirs, _) = store.open_or_get_active(candidate(beta.id(), &customer(1), at(0))).await.unwrap();
    let (ours, _) = store.open_or_get_active(candidate(acme.id(), &customer(1), at(0))).await.unwrap();
    store
        .close_conversation(acme.id(), ours.id, ConversationStatus::AgentClosed, "x".into(), at(5))
        .await
        .unwrap();

    let closed = store
        .append_message(acme.id(), ours.id, outbound("oi"), Some(domain::SendQuota::UNLIMITED), at(10))
        .await;
    assert_eq!(closed, Err(StoreError::ConversationClosed(ConversationStatus::AgentClosed)));
    for id in [theirs.id, ConversationId::new_at(base_time())] {
        assert_eq!(
            store
                .append_message(acme.id(), id, outbound("oi"), Some(domain::SendQuota::UNLIMITED), at(10))
                .await,
            Err(StoreError::NotFound)
        );
    }
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 0);
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0, "no job without its message");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_are_paged_oldest_first_and_the_recent_window_is_the_latest() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let first =
        store.store_inbound(candidate(acme.id(), &customer(1), at(0)), inbound("SM0", "m0"), 0, at(0));
    let conversation = first.await.unwrap().conversation.id;
    let other = store.store_inbound(candidate(acme.id(), &customer(2), at(0)), inbound("SMx", "x"), 0, at(0));
    other.await.unwrap();
    for n in 1..17 {
        let body = format!("m{n}");
        store.append_message(acme.id(), conversation, outbound(&body), None, at(n)).await.unwrap();
    }

    let mut bodies = Vec::new();
    let mut page = PageRequest::first(4);
    let mut pages = 0;
    loop {
        let listed = store.list_messages(acme.id(), conversation, page).await.unwrap();
        pages += 1;
        assert!(listed.items.len() <= 4);
        bodies.extend(listed.items.iter().map(|m| m.body.as_ref().unwrap().as_str().to_owned()));
        let Some(cursor) = listed.next_cursor else { break };
        page = PageRequest { limit: 4, after: Some(cursor) };
    }
    let expected: Vec<String> = (0..17).map(|n| format!("m{n}")).collect();
    assert_eq!(bodies, expected, "oldest first, each message once, no other conversation's");
    assert_eq!(pages, 5, "17 messages in pages of 4");
    assert_eq!(bodies.iter().collect::<HashSet<_>>().len(), 17);

    let stored = store
        .store_inbound(candidate(acme.id(), &customer(1), at(20)), inbound("SM17", "m17"), 3, at(20))
        .await
        .unwrap();
    let window: Vec<_> = stored.recent.iter().map(|m| m.body.as_ref().unwrap().as_str()).collect();
    assert_eq!(window, ["m15", "m16", "m17"], "storing returns the window, the new message last");
    let retried = store
        .store_inbound(candidate(acme.id(), &customer(1), at(21)), inbound("SM17", "m17"), 3, at(21))
        .await
        .unwrap();
    assert!(retried.duplicate && retried.recent.is_empty(), "a duplicate runs nothing, reads no window");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_messages_are_not_found_like_unknown_ones() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let theirs =
        store.store_inbound(candidate(beta.id(), &customer(1), at(0)), inbound("SMb", "oi"), 0, at(0));
    let theirs = theirs.await.unwrap();
    store.add_ai_result(beta.id(), theirs.message.id, sentiment(0.5), at(1)).await.unwrap();

    for id in [theirs.message.id, MessageId::new_at(base_time())] {
        assert_eq!(store.get_message(acme.id(), id).await, Err(StoreError::NotFound));
        assert_eq!(
            store.add_ai_result(acme.id(), id, sentiment(0.1), at(2)).await,
            Err(StoreError::NotFound)
        );
        assert_eq!(store.list_ai_results(acme.id(), id).await, Err(StoreError::NotFound));
    }
    for id in [theirs.conversation.id, ConversationId::new_at(base_time())] {
        assert_eq!(
            store.list_messages(acme.id(), id, PageRequest::first(10)).await,
            Err(StoreError::NotFound)
        );
    }
    let foreign_status =
        store.apply_delivery_status(acme.id(), None, "SMb".into(), DeliveryStatus::Read, None, at(3));
    assert_eq!(foreign_status.await, Ok(ports::DeliveryUpdate::UnknownSid));
    assert_eq!(db.count("SELECT count(*) AS count FROM ai_results").await, 1, "beta's result only");
}

#[tokio::test(flavor = "multi_thread")]
async fn ai_results_attach_to_their_message_oldest_first() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let stored =
        store.store_inbound(candidate(acme.id(), &customer(1), at(0)), inbound("SM1", "oi"), 0, at(0));
    let stored = stored.await.unwrap();
    assert_eq!(store.list_ai_results(acme.id(), stored.message.id).await, Ok(Vec::new()));

    let first = store.add_ai_result(acme.id(), stored.message.id, sentiment(0.2), at(10)).await.unwrap();
    let second = store.add_ai_result(acme.id(), stored.message.id, sentiment(0.8), at(20)).await.unwrap();
    assert_eq!((first.conversation_id, first.message_id), (stored.conversation.id, stored.message.id));
    assert_eq!((first.kind.as_str(), first.score, first.created_at), ("sentiment", Some(0.2), at(10)));
    assert_eq!(store.list_ai_results(acme.id(), stored.message.id).await.unwrap(), vec![first, second]);

    let out_of_range = store.add_ai_result(acme.id(), stored.message.id, sentiment(1.5), at(30)).await;
    assert!(
        matches!(out_of_range, Err(StoreError::Invalid { field: Some("score"), .. })),
        "the schema checks the score: {out_of_range:?}"
    );
}
