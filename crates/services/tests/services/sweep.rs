use std::sync::Arc;

use chrono::Duration;
use domain::{Channel, Conversation, ConversationStatus, MessageOwner, MessageTurn, PendingClosure};
use mockall::Sequence;
use mockall::predicate::eq;
use ports::{
    DetectedClosure, MockConversationStore, MockFeatureStore, MockMessageStore, StoreError, SweepBatch,
};
use serde_json::json;
use services::{LifecycleSweeper, MAX_SWEEP_ROUNDS, PENDING_CLOSURE_LEASE, ServiceError, SweepReport};

use crate::fixtures::*;

fn swept(statuses: &[ConversationStatus]) -> SweepBatch {
    let closed: Vec<Conversation> =
        statuses.iter().map(|status| closed(conversation(Channel::Sms), *status)).collect();
    SweepBatch { claimed: closed.len(), closed, closures_due: vec![] }
}

fn sweeper(conversations: MockConversationStore, batch_size: u32) -> LifecycleSweeper {
    with_stores(conversations, MockMessageStore::new(), MockFeatureStore::new(), batch_size)
}

fn with_stores(
    conversations: MockConversationStore,
    messages: MockMessageStore,
    features: MockFeatureStore,
    batch_size: u32,
) -> LifecycleSweeper {
    LifecycleSweeper {
        conversations: Arc::new(conversations),
        messages: Arc::new(messages),
        features: Arc::new(features),
        clock: clock(),
        batch_size,
    }
}

/// Expects the batches in order, each claimed with `now`, `limit` and the lease.
fn expect_batches(conversations: &mut MockConversationStore, limit: u32, batches: Vec<SweepBatch>) {
    let mut sequence = Sequence::new();
    for batch in batches {
        conversations
            .expect_sweep_due()
            .with(eq(now()), eq(limit), eq(PENDING_CLOSURE_LEASE))
            .times(1)
            .in_sequence(&mut sequence)
            .return_once(move |_, _, _| Ok(batch));
    }
}

#[tokio::test]
async fn a_partial_batch_ends_the_run() {
    use ConversationStatus::{Expired, IdleTimeout};
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![swept(&[Expired, IdleTimeout, IdleTimeout])]);
    let report = sweeper(conversations, 10).run_once().await.unwrap();
    assert_eq!(report, SweepReport { expired: 1, idle: 2, ..SweepReport::default() });
}

#[tokio::test]
async fn full_batches_are_followed_by_another_claim() {
    use ConversationStatus::{Expired, IdleTimeout};
    let mut conversations = MockConversationStore::new();
    let batches = vec![swept(&[Expired, Expired]), swept(&[IdleTimeout, Expired]), swept(&[IdleTimeout])];
    expect_batches(&mut conversations, 2, batches);
    let report = sweeper(conversations, 2).run_once().await.unwrap();
    assert_eq!(report, SweepReport { expired: 3, idle: 2, ..SweepReport::default() });
}

#[tokio::test]
async fn nothing_due_makes_one_claim() {
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 50, vec![SweepBatch::default()]);
    assert_eq!(sweeper(conversations, 50).run_once().await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_run_is_bounded_even_if_batches_stay_full() {
    let mut conversations = MockConversationStore::new();
    conversations
        .expect_sweep_due()
        .times(MAX_SWEEP_ROUNDS)
        .returning(|_, _, _| Ok(swept(&[ConversationStatus::Expired])));
    let report = sweeper(conversations, 1).run_once().await.unwrap();
    assert_eq!(report.expired, MAX_SWEEP_ROUNDS);
}

#[tokio::test]
async fn a_zero_batch_size_claims_one_at_a_time() {
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 1, vec![SweepBatch::default()]);
    sweeper(conversations, 0).run_once().await.unwrap();
}

#[tokio::test]
async fn unexpected_states_are_not_counted() {
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 5, vec![swept(&[ConversationStatus::Failed])]);
    assert_eq!(sweeper(conversations, 5).run_once().await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_store_failure_stops_the_run() {
    let mut conversations = MockConversationStore::new();
    let mut sequence = Sequence::new();
    conversations
        .expect_sweep_due()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_, _, _| Ok(swept(&[ConversationStatus::Expired])));
    conversations
        .expect_sweep_due()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_, _, _| Err(unavailable()));
    let result = sweeper(conversations, 1).run_once().await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}

/// A conversation whose customer said `goodbye` (its latest message) and whose pending closure,
/// based on it, is due now; and the turns the store answers for it.
fn due_closure(goodbye: &str) -> (Conversation, Vec<MessageTurn>) {
    let mut conversation = conversation(Channel::Sms);
    let said_at = now() - Duration::seconds(130);
    let agent = message(
        &conversation,
        MessageOwner::Agent,
        "Posso ajudar em algo mais?",
        said_at - Duration::seconds(40),
    );
    let customer = message(&conversation, MessageOwner::User, goodbye, said_at);
    conversation.last_inbound_message_id = Some(customer.id);
    conversation.pending_closure = Some(PendingClosure {
        message_id: customer.id,
        closes_at: now() - Duration::seconds(10),
        score: 0.8,
        reason: "declined more help".to_owned(),
    });
    (conversation, vec![MessageTurn::from(&agent), MessageTurn::from(&customer)])
}

fn leased(conversation: &Conversation) -> SweepBatch {
    SweepBatch { closed: vec![], closures_due: vec![conversation.clone()], claimed: 1 }
}

fn answering_turns(turns: Vec<MessageTurn>) -> MockMessageStore {
    let mut messages = MockMessageStore::new();
    messages.expect_recent_turns().times(1).return_once(move |_, _, _| Ok(turns));
    messages
}

fn default_features() -> MockFeatureStore {
    let mut features = MockFeatureStore::new();
    features.expect_list_features().times(1).returning(|_| Ok(vec![]));
    features
}

#[tokio::test]
async fn a_due_pending_closure_that_still_holds_closes_once_on_its_message() {
    let (conversation, turns) = due_closure("Não, obrigado! Tchau");
    let pending = conversation.pending_closure.clone().unwrap();
    let (conversation_id, message_id) = (conversation.id, pending.message_id);
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![leased(&conversation)]);
    conversations.expect_drop_pending_closure().never();
    let closing = conversation.clone();
    conversations
        .expect_close_detected()
        .withf(move |owner, id, verdict, at| {
            *owner == owner_id()
                && *id == conversation_id
                && verdict.message_id == message_id
                && verdict.confirms_pending
                && !verdict.reason.is_empty()
                && verdict.assessment.content.get("should_close") == Some(&json!(true))
                && *at == now()
        })
        .times(1)
        .returning(move |_, _, verdict, _| {
            let (message_id, record) = (verdict.message_id, verdict.assessment);
            Ok(DetectedClosure {
                conversation: closed(closing.clone(), ConversationStatus::UserClosed),
                ai_result: domain::AiResult {
                    id: domain::AiResultId::new_at(now()),
                    owner_id: owner_id(),
                    conversation_id,
                    message_id,
                    kind: record.kind,
                    model: record.model,
                    content: record.content,
                    score: record.score,
                    created_at: now(),
                },
            })
        });
    let sweeper = with_stores(conversations, answering_turns(turns), default_features(), 10);
    let report = sweeper.run_once().await.unwrap();
    assert_eq!(report, SweepReport { user_closed: 1, ..SweepReport::default() });
}

#[tokio::test]
async fn a_due_pending_closure_that_no_longer_holds_is_dropped() {
    // The re-assessment reads the turns as they are now: the agent promised to come back.
    let (conversation, mut turns) = due_closure("ok, obrigado");
    let message_id = conversation.pending_closure.as_ref().unwrap().message_id;
    let promise = message(
        &conversation,
        MessageOwner::Agent,
        "Vou verificar com o financeiro e já te retorno",
        now() - Duration::seconds(120),
    );
    turns.push(MessageTurn::from(&promise));
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![leased(&conversation)]);
    conversations.expect_close_detected().never();
    let kept = conversation.clone();
    conversations
        .expect_drop_pending_closure()
        .with(eq(owner_id()), eq(conversation.id), eq(message_id), eq(now()))
        .times(1)
        .returning(move |_, _, _, _| Ok(Conversation { pending_closure: None, ..kept.clone() }));
    let sweeper = with_stores(conversations, answering_turns(turns), default_features(), 10);
    let report = sweeper.run_once().await.unwrap();
    assert_eq!(report, SweepReport { kept_open: 1, ..SweepReport::default() });
}

#[tokio::test]
async fn a_pending_closure_is_dropped_when_the_tenant_switched_detection_off() {
    let (conversation, _) = due_closure("Não, obrigado! Tchau");
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![leased(&conversation)]);
    conversations.expect_close_detected().never();
    let kept = conversation.clone();
    conversations.expect_drop_pending_closure().times(1).returning(move |_, _, _, _| Ok(kept.clone()));
    let mut features = MockFeatureStore::new();
    features
        .expect_list_features()
        .times(1)
        .returning(|_| Ok(vec![feature(domain::FeatureName::CLOSURE_DETECTION, false, json!({}))]));
    let mut messages = MockMessageStore::new();
    messages.expect_recent_turns().never();
    let report = with_stores(conversations, messages, features, 10).run_once().await.unwrap();
    assert_eq!(report.kept_open, 1);
}

#[tokio::test]
async fn a_pending_closure_superseded_meanwhile_is_not_an_error() {
    let (conversation, turns) = due_closure("Não, obrigado! Tchau");
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![leased(&conversation)]);
    conversations.expect_close_detected().times(1).returning(|_, _, _, _| Err(StoreError::ClosureSuperseded));
    conversations.expect_drop_pending_closure().never();
    let sweeper = with_stores(conversations, answering_turns(turns), default_features(), 10);
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport { kept_open: 1, ..SweepReport::default() });
}

#[tokio::test]
async fn tenant_settings_are_read_once_per_run() {
    let (first, turns) = due_closure("ok, obrigado");
    let (second, _) = due_closure("ok, obrigado");
    let mut conversations = MockConversationStore::new();
    let batch = SweepBatch { closed: vec![], closures_due: vec![first.clone(), second.clone()], claimed: 2 };
    expect_batches(&mut conversations, 10, vec![batch]);
    conversations.expect_close_detected().returning(|_, _, _, _| Err(StoreError::ClosureSuperseded));
    conversations.expect_drop_pending_closure().returning(move |_, _, _, _| Ok(first.clone()));
    let mut messages = MockMessageStore::new();
    messages.expect_recent_turns().times(2).returning(move |_, _, _| Ok(turns.clone()));
    let report = with_stores(conversations, messages, default_features(), 10).run_once().await.unwrap();
    assert_eq!(report.user_closed + report.kept_open, 2);
}

#[tokio::test]
async fn an_unavailable_store_during_a_re_assessment_stops_the_run() {
    let (conversation, _) = due_closure("Não, obrigado! Tchau");
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![leased(&conversation)]);
    let mut messages = MockMessageStore::new();
    messages.expect_recent_turns().times(1).returning(|_, _, _| Err(unavailable()));
    let result = with_stores(conversations, messages, default_features(), 10).run_once().await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}
