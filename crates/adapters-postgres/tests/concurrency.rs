//! Races the adapter must win: concurrent first messages from one customer, concurrent webhook
//! retries of one message, and two lifecycle sweepers at once.

mod support;

use std::collections::{BTreeSet, HashMap};

use domain::{ConversationId, ConversationStatus, OwnerId};
use ports::{ConversationStore, InboundStored, MessageStore};
use support::{
    at, candidate, candidate_with, create_tenant, customer, inbound, lifecycle, message_sid, store,
};
use test_db::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_first_messages_open_one_conversation() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let owner_id = acme.id();
            tokio::spawn(async move {
                let candidate = candidate(owner_id, &customer(1), at(0));
                store
                    .store_inbound(candidate, inbound(&message_sid(n), &format!("mensagem {n}")), 0, at(0))
                    .await
            })
        })
        .collect();
    let mut results: Vec<InboundStored> = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task ran").expect("every message is stored"));
    }

    let conversation_ids: BTreeSet<ConversationId> = results.iter().map(|r| r.conversation.id).collect();
    assert_eq!(conversation_ids.len(), 1, "every message landed in the same conversation");
    assert_eq!(results.iter().filter(|r| r.conversation_created).count(), 1, "exactly one opened it");
    assert!(results.iter().all(|r| !r.duplicate));
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 1);
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 20);
    let id = *conversation_ids.first().unwrap();
    let conversation = store.get_conversation(acme.id(), id).await.unwrap();
    assert_eq!(conversation.message_count, 20);
    assert_eq!(conversation.status, ConversationStatus::Progress);
    let mut counts: Vec<i64> = results.iter().map(|r| r.conversation.message_count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<_>>(), "each message was recorded once, in turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_messages_after_expiry_replace_the_conversation_once() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let short = candidate_with(acme.id(), &customer(1), &lifecycle(60, 3600), at(0));
    let old = store.store_inbound(short, inbound("SMold", "oi"), 0, at(0)).await.unwrap().conversation;

    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let store = store.clone();
            let owner_id = acme.id();
            tokio::spawn(async move {
                let candidate = candidate(owner_id, &customer(1), at(600));
                store.store_inbound(candidate, inbound(&message_sid(n), "voltei"), 0, at(600)).await
            })
        })
        .collect();
    let mut conversations = BTreeSet::new();
    for task in tasks {
        conversations.insert(task.await.expect("task ran").expect("stored").conversation.id);
    }
    assert_eq!(conversations.len(), 1, "one replacement conversation");
    assert!(!conversations.contains(&old.id));
    assert_eq!(store.get_conversation(acme.id(), old.id).await.unwrap().status, ConversationStatus::Expired);
    let new = store.get_conversation(acme.id(), *conversations.first().unwrap()).await.unwrap();
    assert_eq!((new.status, new.message_count), (ConversationStatus::Progress, 12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_retries_of_one_webhook_store_the_message_once() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let owner_id = acme.id();
            tokio::spawn(async move {
                store
                    .store_inbound(
                        candidate(owner_id, &customer(1), at(0)),
                        inbound("SMretry", "oi"),
                        0,
                        at(0),
                    )
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task ran").expect("a retry is not an error"));
    }
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1, "one delivery stored it");
    let message = &results.iter().find(|r| !r.duplicate).unwrap().message;
    assert!(results.iter().all(|r| r.message.id == message.id), "duplicates answer with the stored message");
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 1);
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 1);
    let conversation = store.get_conversation(acme.id(), message.conversation_id).await.unwrap();
    assert_eq!(conversation.message_count, 1);
}

/// What each fixture conversation should become at the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Expired,
    Idle,
    Untouched,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_concurrent_sweepers_close_each_due_conversation_exactly_once() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenants = [create_tenant(&store, "acme").await, create_tenant(&store, "beta").await];
    let now = at(10 * 3600);

    let mut expected: HashMap<(OwnerId, ConversationId), Expect> = HashMap::new();
    let mut n = 0;
    for tenant in &tenants {
        for kind in [Expect::Expired, Expect::Idle, Expect::Untouched] {
            for _ in 0..if kind == Expect::Untouched { 6 } else { 18 } {
                n += 1;
                let settings = match kind {
                    Expect::Expired => lifecycle(3600, 48 * 3600),
                    Expect::Idle => lifecycle(48 * 3600, 3600),
                    Expect::Untouched => lifecycle(48 * 3600, 48 * 3600),
                };
                let opened = candidate_with(tenant.id(), &customer(n), &settings, at(0));
                store.open_or_get_active(opened.clone()).await.unwrap();
                expected.insert((tenant.id(), opened.id), kind);
            }
        }
    }
    // One conversation both expired and idle: expiry wins.
    let both = candidate_with(tenants[0].id(), &customer(999), &lifecycle(3600, 3600), at(0));
    store.open_or_get_active(both.clone()).await.unwrap();
    expected.insert((tenants[0].id(), both.id), Expect::Expired);

    let sweepers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut closed = Vec::new();
                loop {
                    let batch = store.sweep_due(now, 4, chrono::Duration::seconds(60)).await.expect("sweep");
                    assert!(batch.claimed <= 4, "the limit is respected");
                    if batch.claimed == 0 {
                        return closed;
                    }
                    closed.extend(batch.closed);
                }
            })
        })
        .collect();
    let mut closed = Vec::new();
    for sweeper in sweepers {
        closed.extend(sweeper.await.expect("sweeper ran"));
    }

    let closed_ids: Vec<_> = closed.iter().map(|c| (c.owner_id, c.id)).collect();
    let unique: BTreeSet<_> = closed_ids.iter().copied().collect();
    assert_eq!(unique.len(), closed_ids.len(), "no conversation was closed twice");
    let due: BTreeSet<_> =
        expected.iter().filter(|(_, kind)| **kind != Expect::Untouched).map(|(key, _)| *key).collect();
    assert_eq!(unique, due, "exactly the due conversations were closed");
    assert_eq!(due.len(), 73);

    for returned in &closed {
        let stored = store.get_conversation(returned.owner_id, returned.id).await.unwrap();
        assert_eq!(&stored, returned, "the sweep returns the conversation as stored");
        let status = match expected[&(returned.owner_id, returned.id)] {
            Expect::Expired => ConversationStatus::Expired,
            Expect::Idle => ConversationStatus::IdleTimeout,
            Expect::Untouched => unreachable!("only due conversations are returned"),
        };
        assert_eq!((stored.status, stored.closed_at), (status, Some(now)), "{stored:?}");
    }
    for ((owner_id, id), kind) in &expected {
        if *kind == Expect::Untouched {
            let stored = store.get_conversation(*owner_id, *id).await.unwrap();
            assert_eq!((stored.status, stored.closed_at), (ConversationStatus::Pending, None));
        }
    }
    assert_eq!(
        store.sweep_due(now, 100, chrono::Duration::seconds(60)).await.unwrap().claimed,
        0,
        "nothing left to sweep"
    );
}
