use std::sync::Arc;

use domain::{Channel, Conversation, ConversationStatus};
use mockall::Sequence;
use mockall::predicate::eq;
use ports::MockConversationStore;
use services::{LifecycleSweeper, MAX_SWEEP_ROUNDS, ServiceError, SweepReport};

use crate::fixtures::*;

fn swept(statuses: &[ConversationStatus]) -> Vec<Conversation> {
    statuses.iter().map(|status| closed(conversation(Channel::Sms), *status)).collect()
}

fn sweeper(conversations: MockConversationStore, batch_size: u32) -> LifecycleSweeper {
    LifecycleSweeper { conversations: Arc::new(conversations), clock: clock(), batch_size }
}

/// Expects the batches in order, each claimed with `now` and `limit`.
fn expect_batches(conversations: &mut MockConversationStore, limit: u32, batches: Vec<Vec<Conversation>>) {
    let mut sequence = Sequence::new();
    for batch in batches {
        conversations
            .expect_sweep_due()
            .with(eq(now()), eq(limit))
            .times(1)
            .in_sequence(&mut sequence)
            .return_once(move |_, _| Ok(batch));
    }
}

#[tokio::test]
async fn a_partial_batch_ends_the_run() {
    use ConversationStatus::{Expired, IdleTimeout};
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 10, vec![swept(&[Expired, IdleTimeout, IdleTimeout])]);
    let report = sweeper(conversations, 10).run_once().await.unwrap();
    assert_eq!(report, SweepReport { expired: 1, idle: 2 });
}

#[tokio::test]
async fn full_batches_are_followed_by_another_claim() {
    use ConversationStatus::{Expired, IdleTimeout};
    let mut conversations = MockConversationStore::new();
    let batches = vec![swept(&[Expired, Expired]), swept(&[IdleTimeout, Expired]), swept(&[IdleTimeout])];
    expect_batches(&mut conversations, 2, batches);
    let report = sweeper(conversations, 2).run_once().await.unwrap();
    assert_eq!(report, SweepReport { expired: 3, idle: 2 });
}

#[tokio::test]
async fn nothing_due_makes_one_claim() {
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 50, vec![vec![]]);
    assert_eq!(sweeper(conversations, 50).run_once().await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_run_is_bounded_even_if_batches_stay_full() {
    let mut conversations = MockConversationStore::new();
    conversations
        .expect_sweep_due()
        .times(MAX_SWEEP_ROUNDS)
        .returning(|_, _| Ok(swept(&[ConversationStatus::Expired])));
    let report = sweeper(conversations, 1).run_once().await.unwrap();
    assert_eq!(report.expired, MAX_SWEEP_ROUNDS);
}

#[tokio::test]
async fn a_zero_batch_size_claims_one_at_a_time() {
    let mut conversations = MockConversationStore::new();
    expect_batches(&mut conversations, 1, vec![vec![]]);
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
        .returning(|_, _| Ok(swept(&[ConversationStatus::Expired])));
    conversations.expect_sweep_due().times(1).in_sequence(&mut sequence).returning(|_, _| Err(unavailable()));
    let result = sweeper(conversations, 1).run_once().await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}
