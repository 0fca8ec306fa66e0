//! The delivery worker: each attempt is signed with the event's id and envelope, and its
//! outcome decides the delivery's next step (success; a retry after a jittered backoff; given
//! up once the window has passed).

use std::sync::Arc;

use chrono::Duration;
use domain::{
    AttemptOutcome, EventId, EventType, PublishedEvent, SecretString, WebhookDeliveryId, WebhookEndpointId,
    WebhookRetryPolicy, WebhookUrl,
};
use ports::{
    AttemptRecorded, ClaimedDelivery, DeliveryNext, MockJitter, MockWebhookDeliveryQueue, MockWebhookSender,
    WebhookResponse,
};
use serde_json::json;
use services::WebhookDeliveryWorker;

use crate::fixtures::{clock, conversation_id, now, owner_id};

fn claim(attempt: u32, schedule_started_at: chrono::DateTime<chrono::Utc>) -> ClaimedDelivery {
    ClaimedDelivery {
        owner_id: owner_id(),
        delivery_id: WebhookDeliveryId::new_at(now()),
        endpoint_id: WebhookEndpointId::new_at(now()),
        lease_id: uuid::Uuid::from_u128(7),
        attempt,
        schedule_started_at,
        url: WebhookUrl::parse("https://crm.example/hooks", false).unwrap(),
        secrets: vec![SecretString::new("whsec_YWJj")],
        event: PublishedEvent {
            id: EventId::new_at(now()),
            owner_id: owner_id(),
            event_type: EventType::MessageCreated,
            conversation_id: conversation_id(),
            occurred_at: now(),
            data: json!({"id": "m1"}),
        },
    }
}

fn worker(queue: MockWebhookDeliveryQueue, sender: MockWebhookSender, jitter: f64) -> WebhookDeliveryWorker {
    let mut random = MockJitter::new();
    random.expect_sample().return_const(jitter);
    WebhookDeliveryWorker {
        queue: Arc::new(queue),
        sender: Arc::new(sender),
        clock: clock(),
        jitter: Arc::new(random),
        policy: WebhookRetryPolicy { base_delay_ms: 1_000, max_delay_ms: 60_000, window_ms: 3_600_000 },
        disable_after_failures: 20,
        lease: Duration::seconds(60),
        per_endpoint: 2,
        fan_out_batch: 100,
    }
}

fn answering(outcome: AttemptOutcome, claimed: &ClaimedDelivery) -> MockWebhookSender {
    let (id, body) = (claimed.event.id, claimed.event.envelope());
    let mut sender = MockWebhookSender::new();
    sender
        .expect_send()
        .withf(move |webhook| webhook.webhook_id == id && webhook.body == body && webhook.timestamp == now())
        .times(1)
        .return_const(WebhookResponse { outcome, latency_ms: 12, excerpt: Some("ok".into()) });
    sender
}

fn recording(expected: DeliveryNext) -> MockWebhookDeliveryQueue {
    let mut queue = MockWebhookDeliveryQueue::new();
    queue
        .expect_record_attempt()
        .withf(move |_, record| record.next == expected && record.attempt.latency_ms == 12)
        .times(1)
        .returning(|_, _| Ok(AttemptRecorded::Recorded { disabled: None }));
    queue
}

#[tokio::test]
async fn a_2xx_succeeds() {
    let claimed = claim(1, now());
    let sender = answering(AttemptOutcome::Succeeded { status: 204 }, &claimed);
    let report = worker(recording(DeliveryNext::Succeeded), sender, 0.5).deliver(&claimed).await.unwrap();
    assert_eq!(report.next, DeliveryNext::Succeeded);
}

#[tokio::test]
async fn a_failure_is_retried_after_a_jittered_exponential_delay() {
    let claimed = claim(3, now());
    let sender = answering(AttemptOutcome::HttpError { status: 500 }, &claimed);
    // Attempt 3: ceiling 1 s × 2² = 4 s; jitter 0.5 → 2 s.
    let expected = DeliveryNext::RetryAt(now() + Duration::seconds(2));
    let report = worker(recording(expected), sender, 0.5).deliver(&claimed).await.unwrap();
    assert_eq!(report.outcome, AttemptOutcome::HttpError { status: 500 });
}

#[tokio::test]
async fn a_failure_after_the_window_gives_up() {
    let claimed = claim(9, now() - Duration::hours(2));
    let error = AttemptOutcome::TransportError { error: "connection refused".into() };
    let sender = answering(error, &claimed);
    worker(recording(DeliveryNext::GiveUp), sender, 0.5).deliver(&claimed).await.unwrap();
}
