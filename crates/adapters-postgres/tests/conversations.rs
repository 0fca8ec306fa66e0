//! `ConversationStore` on PostgreSQL: opening, lookups, keyset listings and transitions.

mod support;

use std::collections::HashSet;

use chrono::Duration;
use domain::{ConversationId, ConversationStatus, MessageId, NewAiResult, PendingClosure};
use ports::{ClosureVerdict, ConversationFilter, ConversationStore, MessageStore, PageRequest, StoreError};
use serde_json::json;
use support::{at, base_time, candidate, candidate_with, create_tenant, customer, inbound, lifecycle, store};
use test_db::TestDb;

fn active() -> ConversationFilter {
    ConversationFilter { statuses: ConversationStatus::ACTIVE.to_vec() }
}

fn assessment() -> NewAiResult {
    NewAiResult {
        kind: String::new(),
        model: Some("rules-v1".to_owned()),
        content: json!({"should_close": true}),
        score: Some(0.9),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn open_or_get_active_opens_once_per_pair_of_numbers() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;

    let first = candidate(acme.id(), &customer(1), at(0));
    let (opened, created) = store.open_or_get_active(first.clone()).await.unwrap();
    assert!(created);
    assert_eq!(opened, first);
    assert_eq!(store.get_conversation(acme.id(), first.id).await.unwrap(), first, "stored as given");

    let (again, created) =
        store.open_or_get_active(candidate(acme.id(), &customer(1), at(60))).await.unwrap();
    assert!(!created, "the active conversation is returned");
    assert_eq!(again, first);

    let (other_customer, created) =
        store.open_or_get_active(candidate(acme.id(), &customer(2), at(60))).await.unwrap();
    assert!(created && other_customer.id != first.id);
    let (other_tenant, created) =
        store.open_or_get_active(candidate(beta.id(), &customer(1), at(60))).await.unwrap();
    assert!(created && other_tenant.owner_id == beta.id(), "tenants never share conversations");
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_open_returns_is_what_is_stored_even_below_a_microsecond() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let precise = candidate(acme.id(), &customer(1), at(0) + Duration::nanoseconds(1_500));

    let (opened, created) = store.open_or_get_active(precise.clone()).await.unwrap();
    assert!(created);
    assert_eq!(opened.created_at, at(0) + Duration::microseconds(1), "PostgreSQL keeps microseconds");
    assert_eq!(store.get_conversation(acme.id(), precise.id).await.unwrap(), opened);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_active_conversation_is_closed_and_replaced() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let short = candidate_with(acme.id(), &customer(1), &lifecycle(60, 3600), at(0));
    store.open_or_get_active(short.clone()).await.unwrap();

    let (replacement, created) =
        store.open_or_get_active(candidate(acme.id(), &customer(1), at(120))).await.unwrap();
    assert!(created && replacement.id != short.id);
    let old = store.get_conversation(acme.id(), short.id).await.unwrap();
    assert_eq!((old.status, old.closed_at), (ConversationStatus::Expired, Some(at(120))));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_conversation_is_not_found_like_an_unknown_one() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let stored =
        store.store_inbound(candidate(beta.id(), &customer(1), at(0)), inbound("SMb1", "oi"), 0, at(0));
    let stored = stored.await.unwrap();
    let (theirs, message) = (stored.conversation.id, stored.message.id);

    for id in [theirs, ConversationId::new_at(base_time())] {
        assert_eq!(store.get_conversation(acme.id(), id).await, Err(StoreError::NotFound));
        let closed =
            store.close_conversation(acme.id(), id, ConversationStatus::AgentClosed, "x".into(), at(5));
        assert_eq!(closed.await, Err(StoreError::NotFound));
        assert_eq!(store.extend_conversation(acme.id(), id, 600, at(5)).await, Err(StoreError::NotFound));
        let detected =
            store.close_detected(acme.id(), id, verdict(message, false, "bye".into(), assessment()), at(5));
        assert_eq!(detected.await, Err(StoreError::NotFound));
    }
    let page = store.list_conversations(acme.id(), active(), PageRequest::first(10)).await.unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    let untouched = store.get_conversation(beta.id(), theirs).await.unwrap();
    assert_eq!(
        (untouched.status, untouched.expires_at),
        (stored.conversation.status, stored.conversation.expires_at)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn close_is_final_and_a_second_close_is_refused() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let (open, _) = store.open_or_get_active(candidate(acme.id(), &customer(1), at(0))).await.unwrap();

    let not_final =
        store.close_conversation(acme.id(), open.id, ConversationStatus::Progress, "no".into(), at(5));
    assert!(matches!(not_final.await, Err(StoreError::Rejected(_))));
    let closed =
        store.close_conversation(acme.id(), open.id, ConversationStatus::AgentClosed, "done".into(), at(10));
    let closed = closed.await.unwrap();
    assert_eq!(closed.status, ConversationStatus::AgentClosed);
    assert_eq!((closed.closed_at, closed.close_reason.as_deref()), (Some(at(10)), Some("done")));
    assert_eq!(
        store.get_conversation(acme.id(), open.id).await.unwrap(),
        closed,
        "what was returned is stored"
    );

    let again =
        store.close_conversation(acme.id(), open.id, ConversationStatus::UserClosed, "again".into(), at(20));
    assert_eq!(again.await, Err(StoreError::ConversationClosed(ConversationStatus::AgentClosed)));
    let extend = store.extend_conversation(acme.id(), open.id, 600, at(20)).await;
    assert_eq!(extend, Err(StoreError::ConversationClosed(ConversationStatus::AgentClosed)));
    assert_eq!(store.get_conversation(acme.id(), open.id).await.unwrap(), closed, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn extend_moves_the_expiry_up_to_the_maximum_lifetime() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let mut settings = lifecycle(3600, 3600);
    (settings.max_extension_seconds, settings.max_lifetime_seconds) = (1800, 5400);
    let open = candidate_with(acme.id(), &customer(1), &settings, at(0));
    store.open_or_get_active(open.clone()).await.unwrap();

    let extended = store.extend_conversation(acme.id(), open.id, 7200, at(10)).await.unwrap();
    assert_eq!(extended.expires_at, at(5400), "capped by max_extension_seconds");
    assert_eq!(store.get_conversation(acme.id(), open.id).await.unwrap(), extended);
    let exhausted = store.extend_conversation(acme.id(), open.id, 60, at(20)).await;
    assert!(matches!(exhausted, Err(StoreError::Rejected(_))), "{exhausted:?}");
    let non_positive = store.extend_conversation(acme.id(), open.id, 0, at(20)).await;
    assert!(matches!(non_positive, Err(StoreError::Rejected(_))), "{non_positive:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn close_detected_closes_and_records_the_assessment_or_neither() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let first =
        store.store_inbound(candidate(acme.id(), &customer(1), at(0)), inbound("SM1", "oi"), 0, at(0));
    let first = first.await.unwrap();
    let second =
        store.store_inbound(candidate(acme.id(), &customer(2), at(5)), inbound("SM2", "olá"), 0, at(5));
    let second = second.await.unwrap();
    let conversation = first.conversation.id;

    let foreign_message = store.close_detected(
        acme.id(),
        conversation,
        verdict(second.message.id, false, "bye".into(), assessment()),
        at(10),
    );
    assert_eq!(foreign_message.await, Err(StoreError::NotFound), "the message must be the conversation's");
    let unknown_message = store.close_detected(
        acme.id(),
        conversation,
        verdict(MessageId::new_at(at(0)), false, "bye".into(), assessment()),
        at(10),
    );
    assert_eq!(unknown_message.await, Err(StoreError::NotFound));
    assert_eq!(
        store.get_conversation(acme.id(), conversation).await.unwrap(),
        first.conversation,
        "rolled back"
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM ai_results").await, 0);

    let detected = store
        .close_detected(
            acme.id(),
            conversation,
            verdict(first.message.id, false, "said goodbye".into(), assessment()),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(detected.conversation.status, ConversationStatus::UserClosed);
    assert_eq!(detected.ai_result.kind, "closure_detection", "an empty kind defaults to closure detection");
    assert_eq!((detected.ai_result.message_id, detected.ai_result.score), (first.message.id, Some(0.9)));
    assert_eq!(store.get_conversation(acme.id(), conversation).await.unwrap(), detected.conversation);
    assert_eq!(store.list_ai_results(acme.id(), first.message.id).await.unwrap(), vec![detected.ai_result]);

    let again = store.close_detected(
        acme.id(),
        conversation,
        verdict(first.message.id, false, "again".into(), assessment()),
        at(30),
    );
    assert_eq!(again.await, Err(StoreError::ConversationClosed(ConversationStatus::UserClosed)));
}

#[tokio::test(flavor = "multi_thread")]
async fn conversations_are_paged_newest_first_without_gaps_or_repeats() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let mut opened = Vec::new();
    for n in 0..23 {
        let (conversation, _) = store
            .open_or_get_active(candidate(acme.id(), &customer(n), at(i64::try_from(n).unwrap())))
            .await
            .unwrap();
        opened.push(conversation.id);
        store.open_or_get_active(candidate(beta.id(), &customer(n), at(100))).await.unwrap();
    }
    let closed = opened[4];
    store
        .close_conversation(acme.id(), closed, ConversationStatus::AgentClosed, "x".into(), at(200))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    let mut pages = 0;
    loop {
        let listed = store.list_conversations(acme.id(), active(), page).await.unwrap();
        pages += 1;
        assert!(listed.items.len() <= 5);
        seen.extend(listed.items.iter().map(|c| c.id));
        match listed.next_cursor {
            Some(cursor) => {
                assert_eq!(Some(cursor.0), listed.items.last().map(|c| c.id.as_uuid()));
                page = PageRequest { limit: 5, after: Some(cursor) };
            }
            None => break,
        }
    }
    let expected: Vec<_> = opened.iter().rev().copied().filter(|id| *id != closed).collect();
    assert_eq!(seen, expected, "newest first, every active conversation once");
    assert_eq!(pages, 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 22);

    let final_only = ConversationFilter { statuses: vec![ConversationStatus::AgentClosed] };
    let listed = store.list_conversations(acme.id(), final_only, PageRequest::first(5)).await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [closed]);
    assert_eq!(listed.next_cursor, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_idle_sweep_closes_at_the_real_deadline_though_inbound_messages_leave_its_bound_behind() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenant = create_tenant(&store, "acme").await;
    // Idle after an hour; the customer writes at 50 minutes.
    let opened = candidate_with(tenant.id(), &customer(1), &lifecycle(48 * 3600, 3600), at(0));
    let stored = store.store_inbound(opened, inbound("SMidle1", "oi"), 0, at(0)).await.unwrap();
    let conversation = stored.conversation.id;
    store
        .store_inbound(
            candidate(tenant.id(), &customer(1), at(3000)),
            inbound("SMidle2", "e aí?"),
            0,
            at(3000),
        )
        .await
        .unwrap();

    // At 61 minutes the bound (an hour after the first message) has passed, the real deadline
    // (an hour after the second) has not: nothing closes, the bound moves on.
    assert_eq!(
        store.sweep_due(at(3660), 10, chrono::Duration::seconds(60)).await.unwrap().closed,
        Vec::new()
    );
    let mut owner = db.owner_connection().await;
    let bound = support::count_on(
        &mut owner,
        &format!(
            "SELECT extract(epoch FROM idle_deadline_at - created_at)::bigint AS count FROM conversations WHERE id = '{conversation}'"
        ),
    )
    .await;
    assert_eq!(bound, 3000 + 3600, "the bound is the real deadline now");
    assert_eq!(
        store.sweep_due(at(6599), 10, chrono::Duration::seconds(60)).await.unwrap().closed,
        Vec::new(),
        "a second early"
    );
    let closed = store.sweep_due(at(6600), 10, chrono::Duration::seconds(60)).await.unwrap().closed;
    assert_eq!(
        closed.iter().map(|c| (c.id, c.status)).collect::<Vec<_>>(),
        [(conversation, ConversationStatus::IdleTimeout)]
    );
}

fn pending_on(message_id: MessageId, closes_at: chrono::DateTime<chrono::Utc>) -> PendingClosure {
    PendingClosure { message_id, closes_at, score: 0.8, reason: "thanked and said goodbye".to_owned() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closure_based_on_a_message_that_is_no_longer_the_latest_is_refused_by_the_database() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let first = store.store_inbound(
        candidate(acme.id(), &customer(1), at(0)),
        inbound("SMr1", "Obrigado!"),
        6,
        at(0),
    );
    let first = first.await.unwrap();
    let conversation = first.conversation.id;
    // Message N+1 is stored between the assessment of N and its close.
    let second = store.store_inbound(
        candidate(acme.id(), &customer(1), at(1)),
        inbound("SMr2", "Ah, e mais uma coisa: vocês entregam em Campinas?"),
        6,
        at(1),
    );
    let second = second.await.unwrap();
    assert_eq!(second.conversation.id, conversation);

    let close = store.close_detected(
        acme.id(),
        conversation,
        verdict(first.message.id, false, "bye".into(), assessment()),
        at(2),
    );
    assert_eq!(close.await, Err(StoreError::ClosureSuperseded), "the immediate close");
    let propose =
        store.propose_closure(acme.id(), conversation, pending_on(first.message.id, at(120)), at(2));
    assert_eq!(propose.await, Err(StoreError::ClosureSuperseded), "the pending closure");
    let confirm = store.close_detected(
        acme.id(),
        conversation,
        verdict(first.message.id, true, "bye".into(), assessment()),
        at(2),
    );
    assert_eq!(confirm.await, Err(StoreError::ClosureSuperseded), "the sweeper's confirmation");
    let stored = store.get_conversation(acme.id(), conversation).await.unwrap();
    assert_eq!((stored.status, stored.pending_closure), (ConversationStatus::Progress, None));
    assert_eq!(stored.last_inbound_message_id, Some(second.message.id));
    assert_eq!(db.count("SELECT count(*) AS count FROM ai_results").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_closure_is_stored_scheduled_leased_and_dropped_by_a_newer_message() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let lease = Duration::seconds(60);
    let first = store.store_inbound(
        candidate(acme.id(), &customer(1), at(0)),
        inbound("SMp1", "Obrigado!"),
        6,
        at(0),
    );
    let first = first.await.unwrap();
    let conversation = first.conversation.id;
    let proposed =
        store.propose_closure(acme.id(), conversation, pending_on(first.message.id, at(120)), at(0));
    let proposed = proposed.await.unwrap();
    assert_eq!(proposed.pending_closure, Some(pending_on(first.message.id, at(120))));
    assert_eq!(store.get_conversation(acme.id(), conversation).await.unwrap(), proposed);

    assert_eq!(
        store.sweep_due(at(119), 10, lease).await.unwrap(),
        ports::SweepBatch::default(),
        "not due yet"
    );
    let due = store.sweep_due(at(121), 10, lease).await.unwrap();
    assert_eq!(due.closures_due.iter().map(|c| c.id).collect::<Vec<_>>(), [conversation]);
    assert!(due.closed.is_empty());
    assert_eq!(store.sweep_due(at(122), 10, lease).await.unwrap().claimed, 0, "leased to the first sweeper");
    let again = store.sweep_due(at(182), 10, lease).await.unwrap();
    assert_eq!(again.closures_due.len(), 1, "due again once the lease ends unresolved");

    // A newer customer message drops it; the sweep then only moves its bound back.
    let second = store.store_inbound(
        candidate(acme.id(), &customer(1), at(190)),
        inbound("SMp2", "ah, e o boleto?"),
        6,
        at(190),
    );
    let second = second.await.unwrap();
    assert_eq!(second.conversation.pending_closure, None);
    assert_eq!(second.recent.len(), 2, "the window still reads both turns");
    let swept = store.sweep_due(at(250), 10, lease).await.unwrap();
    assert_eq!((swept.claimed, swept.closures_due.len(), swept.closed.len()), (1, 0, 0));

    // Dropping needs the same message; the confirmation closes once and records the assessment.
    let pending = pending_on(second.message.id, at(300));
    store.propose_closure(acme.id(), conversation, pending, at(190)).await.unwrap();
    let kept = store.drop_pending_closure(acme.id(), conversation, first.message.id, at(200)).await.unwrap();
    assert!(kept.pending_closure.is_some(), "another message's closure is not dropped");
    let closed = store.close_detected(
        acme.id(),
        conversation,
        verdict(second.message.id, true, "bye".into(), assessment()),
        at(300),
    );
    let closed = closed.await.unwrap();
    assert_eq!(
        (closed.conversation.status, closed.conversation.pending_closure),
        (ConversationStatus::UserClosed, None)
    );
    assert_eq!(closed.ai_result.message_id, second.message.id);
    let twice = store.close_detected(
        acme.id(),
        conversation,
        verdict(second.message.id, true, "bye".into(), assessment()),
        at(301),
    );
    assert_eq!(twice.await, Err(StoreError::ConversationClosed(ConversationStatus::UserClosed)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_question_drops_a_pending_closure_and_an_agent_goodbye_keeps_it() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let first = store.store_inbound(
        candidate(acme.id(), &customer(1), at(0)),
        inbound("SMo1", "Valeu, tchau"),
        0,
        at(0),
    );
    let first = first.await.unwrap();
    let conversation = first.conversation.id;
    store
        .propose_closure(acme.id(), conversation, pending_on(first.message.id, at(120)), at(0))
        .await
        .unwrap();
    let goodbye = store.append_message(
        acme.id(),
        conversation,
        support::outbound("Por nada! Até mais"),
        Some(domain::SendQuota::UNLIMITED),
        at(5),
    );
    assert!(goodbye.await.unwrap().conversation.pending_closure.is_some());
    let question = store.append_message(
        acme.id(),
        conversation,
        support::outbound("Pode avaliar nosso atendimento?"),
        Some(domain::SendQuota::UNLIMITED),
        at(6),
    );
    assert_eq!(question.await.unwrap().conversation.pending_closure, None);
}

/// A closure verdict on `message_id`.
fn verdict(
    message_id: MessageId,
    confirms_pending: bool,
    reason: String,
    assessment: NewAiResult,
) -> ClosureVerdict {
    ClosureVerdict { message_id, confirms_pending, reason, assessment }
}
