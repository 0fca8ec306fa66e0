//! The outbox: every change a tenant's systems hear about is an event written with the change,
//! read in order per tenant, never ahead of a transaction still running (so reading on from a
//! position skips nothing), invisible to other tenants, pruned by age.

mod support;

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use domain::{ConversationStatus, DeliveryStatus, EventType, OwnerId};
use ports::{ConversationStore, EventFilter, EventLog, EventPosition, MessageStore, StoredEvent};
use support::{at, candidate, create_tenant, customer, inbound, store};
use test_db::TestDb;

/// The tenant's events after `after` once `count` of them are readable (at most 10 s). Events
/// are readable once every transaction older than theirs has ended, in any database of the
/// cluster: other tests' transactions may hold them back a moment.
async fn settled(
    store: &adapters_postgres::PgStore,
    owner_id: OwnerId,
    after: Option<EventPosition>,
    count: usize,
) -> Vec<StoredEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events =
            store.events_after(owner_id, after, &EventFilter::default(), 100).await.expect("events").0;
        if events.len() >= count || std::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn types(events: &[StoredEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.event.event_type).collect()
}

#[tokio::test]
async fn an_inbound_message_that_opens_a_conversation_writes_both_events_in_order_with_the_resources() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenant = create_tenant(&store, "a").await;
    let stored = store
        .store_inbound(candidate(tenant.id(), &customer(1), at(1)), inbound("SMev1", "Oi"), 0, at(1))
        .await
        .unwrap();
    let second = store
        .store_inbound(candidate(tenant.id(), &customer(1), at(2)), inbound("SMev2", "Tudo bem?"), 0, at(2))
        .await
        .unwrap();

    let events = settled(&store, tenant.id(), None, 3).await;
    assert_eq!(
        types(&events),
        [EventType::ConversationCreated, EventType::MessageCreated, EventType::MessageCreated],
        "recording a message on the active conversation raises no conversation event"
    );
    let conversation = &events[0].event;
    assert_eq!(conversation.conversation_id, stored.conversation.id);
    assert_eq!(conversation.data["id"], stored.conversation.id.to_string());
    assert_eq!(conversation.data["status"], "progress");
    assert_eq!(conversation.data["customer_phone"], customer(1));
    assert_eq!(conversation.data["pending_closure"], serde_json::Value::Null);
    let message = &events[1].event.data;
    assert_eq!(message["id"], stored.message.id.to_string());
    assert_eq!(message["body"], "Oi");
    assert_eq!(message["direction"], "inbound");
    assert_eq!(message["metadata"], serde_json::json!({"ProfileName": "Cliente"}));
    assert_eq!(events[2].event.data["id"], second.message.id.to_string());
    assert!(events.windows(2).all(|w| w[0].position < w[1].position), "in order");
    assert!(events.iter().all(|e| e.event.owner_id == tenant.id()));

    // Reading on from a position gives what came after it, and nothing twice.
    assert_eq!(settled(&store, tenant.id(), Some(events[1].position), 1).await, events[2..]);
    assert_eq!(
        store.event_position(tenant.id(), events[1].event.id).await.unwrap(),
        Some(events[1].position)
    );
    assert_eq!(store.latest_position(tenant.id()).await.unwrap(), Some(events[2].position));
}

#[tokio::test]
async fn closing_extending_and_delivery_status_changes_are_events_and_a_replayed_webhook_is_none() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenant = create_tenant(&store, "a").await;
    let owner = tenant.id();
    let stored = store
        .store_inbound(candidate(owner, &customer(1), at(1)), inbound("SMev1", "Oi"), 0, at(1))
        .await
        .unwrap();
    let id = stored.conversation.id;
    // Twilio retries the webhook: stored once, no event.
    store
        .store_inbound(candidate(owner, &customer(1), at(1)), inbound("SMev1", "Oi"), 0, at(1))
        .await
        .unwrap();
    let start = settled(&store, owner, None, 2).await.last().map(|e| e.position);
    assert_eq!(start, store.latest_position(owner).await.unwrap());

    store.extend_conversation(owner, id, 600, at(3)).await.unwrap();
    let outbound = store
        .append_message(
            owner,
            id,
            support::outbound("Posso ajudar?"),
            Some(domain::SendQuota::UNLIMITED),
            at(4),
        )
        .await
        .unwrap();
    let sid = "SMout1".to_owned();
    let update = store
        .apply_delivery_status(
            owner,
            Some(outbound.message.id),
            sid.clone(),
            DeliveryStatus::Delivered,
            None,
            at(5),
        )
        .await
        .unwrap();
    assert!(matches!(update, ports::DeliveryUpdate::Advanced(_)), "{update:?}");
    // The same callback again changes nothing, and raises nothing.
    store.apply_delivery_status(owner, None, sid, DeliveryStatus::Delivered, None, at(6)).await.unwrap();
    store
        .close_conversation(owner, id, ConversationStatus::AgentClosed, "resolvido".into(), at(7))
        .await
        .unwrap();

    let events = settled(&store, owner, start, 4).await;
    assert_eq!(
        types(&events),
        [
            EventType::ConversationExtended,
            EventType::MessageCreated,
            EventType::MessageStatusUpdated,
            EventType::ConversationClosed
        ]
    );
    assert_eq!(events[2].event.data["delivery_status"], "delivered");
    assert_eq!(events[2].event.data["provider_sid"], "SMout1");
    assert_eq!(events[3].event.data["status"], "agent_closed");
    assert_eq!(events[3].event.data["close_reason"], "resolvido");
    assert!(events.iter().all(|e| e.event.conversation_id == id));
}

#[tokio::test]
async fn a_filter_keeps_its_types_and_conversation_and_the_reader_still_moves_past_the_rest() {
    let db = TestDb::new().await;
    let store = store(&db);
    let owner = create_tenant(&store, "a").await.id();
    let first = store
        .store_inbound(candidate(owner, &customer(1), at(1)), inbound("SMf1", "Oi"), 0, at(1))
        .await
        .unwrap();
    store
        .store_inbound(candidate(owner, &customer(2), at(2)), inbound("SMf2", "Olá"), 0, at(2))
        .await
        .unwrap();

    settled(&store, owner, None, 4).await;
    let filter =
        EventFilter { types: vec![EventType::MessageCreated], conversation_id: Some(first.conversation.id) };
    let (events, reached) = store.events_after(owner, None, &filter, 100).await.unwrap();
    assert_eq!(types(&events), [EventType::MessageCreated]);
    assert_eq!(events[0].event.data["body"], "Oi");
    assert_eq!(reached, store.latest_position(owner).await.unwrap(), "past the events left out");
}

#[tokio::test]
async fn an_event_of_a_transaction_still_running_waits_so_reading_on_never_skips_it() {
    let db = TestDb::new().await;
    let store = store(&db);
    let owner = create_tenant(&store, "a").await.id();
    let first = store
        .store_inbound(candidate(owner, &customer(1), at(1)), inbound("SMt1", "Oi"), 0, at(1))
        .await
        .unwrap();
    let id = first.conversation.id;
    let start = settled(&store, owner, None, 2).await.last().map(|e| e.position);

    // An earlier transaction writes an event and stays open; a later one commits its own.
    let mut slow = db.app_connection().await;
    slow.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.owner_id', '{owner}', true);
         UPDATE conversations SET expires_at = expires_at + interval '1 hour' WHERE owner_id = '{owner}' AND id = '{id}';"
    ))
    .await
    .unwrap();
    store
        .store_inbound(candidate(owner, &customer(2), at(2)), inbound("SMt2", "Olá"), 0, at(2))
        .await
        .unwrap();
    let held = store.events_after(owner, start, &EventFilter::default(), 100).await.unwrap().0;
    assert_eq!(held, [], "held back behind the running transaction");

    slow.batch_execute("COMMIT").await.unwrap();
    let events = settled(&store, owner, start, 3).await;
    assert_eq!(
        types(&events),
        [EventType::ConversationExtended, EventType::ConversationCreated, EventType::MessageCreated],
        "the earlier transaction's event first, none skipped"
    );
}

#[tokio::test]
async fn a_change_that_rolls_back_leaves_no_event_and_no_tenant_reads_another_ones() {
    let db = TestDb::new().await;
    let store = store(&db);
    let a = create_tenant(&store, "a").await.id();
    let b = create_tenant(&store, "b").await.id();
    let stored = store
        .store_inbound(candidate(a, &customer(1), at(1)), inbound("SMx1", "Oi"), 0, at(1))
        .await
        .unwrap();
    let mut conn = db.app_connection().await;
    let id = stored.conversation.id;
    let rolled_back = conn
        .transaction::<(), diesel::result::Error, _>(async |conn| {
            conn.batch_execute(&format!(
                "SELECT set_config('app.owner_id', '{a}', true);
                 UPDATE conversations SET expires_at = expires_at + interval '1 hour' WHERE owner_id = '{a}' AND id = '{id}';"
            ))
            .await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(rolled_back.is_err());
    // A later change, so that a's events are all readable once it is.
    store.store_inbound(candidate(a, &customer(2), at(2)), inbound("SMx2", "Olá"), 0, at(2)).await.unwrap();
    let a_events = settled(&store, a, None, 4).await;
    assert_eq!(
        types(&a_events),
        [
            EventType::ConversationCreated,
            EventType::MessageCreated,
            EventType::ConversationCreated,
            EventType::MessageCreated
        ],
        "nothing of the rolled-back extension"
    );

    store.store_inbound(candidate(b, &customer(1), at(3)), inbound("SMx3", "Oi"), 0, at(3)).await.unwrap();
    let b_events = settled(&store, b, None, 2).await;
    assert_eq!(b_events.len(), 2, "tenant b reads its own events only");
    assert!(b_events.iter().all(|e| e.event.owner_id == b && e.event.data["body"] != "Olá"));
    assert_eq!(store.event_position(b, a_events[0].event.id).await.unwrap(), None, "nor finds a's by id");
}

#[tokio::test]
async fn events_older_than_the_retention_bound_are_pruned_across_tenants() {
    let db = TestDb::new().await;
    let store = store(&db);
    let a = create_tenant(&store, "a").await.id();
    let b = create_tenant(&store, "b").await.id();
    store.store_inbound(candidate(a, &customer(1), at(1)), inbound("SMp1", "Oi"), 0, at(1)).await.unwrap();
    store.store_inbound(candidate(b, &customer(1), at(1)), inbound("SMp2", "Oi"), 0, at(1)).await.unwrap();
    let kept_a = settled(&store, a, None, 2).await[0].event.id;
    db.execute(&format!("UPDATE events SET occurred_at = now() - interval '8 days' WHERE owner_id = '{a}'"))
        .await;

    let bound = Utc::now() - Duration::days(7);
    assert_eq!(store.prune_events(bound, 1).await.unwrap(), 1, "a batch at a time");
    assert_eq!(store.prune_events(bound, 100).await.unwrap(), 1);
    assert_eq!(store.prune_events(bound, 100).await.unwrap(), 0);
    assert_eq!(store.event_position(a, kept_a).await.unwrap(), None, "a's are gone");
    assert_eq!(settled(&store, b, None, 2).await.len(), 2, "b's are kept");
}
