//! Webhook endpoints and deliveries on PostgreSQL: registration starts after the events already
//! written, fan-out makes one delivery per wanted event (once, from any number of workers),
//! claims respect the per-endpoint bound and leases, outcomes disable an endpoint, retention
//! takes deliveries with their events, and a tenant never reaches another's endpoints.

mod support;

use chrono::{Duration, Utc};
use domain::{
    AttemptOutcome, EventType, NewWebhookEndpoint, OwnerId, SecretString, WebhookAttempt,
    WebhookDeliveryState, WebhookEndpointChanges, WebhookUrl,
};
use ports::{
    AttemptRecord, AttemptRecorded, ClaimedDelivery, DeliveryNext, EventLog, MessageStore, PageRequest,
    StoreError, WebhookDeliveryQueue, WebhookEndpointStore,
};
use support::{at, create_account, create_tenant, customer, inbound, store};
use test_db::TestDb;

fn endpoint(types: Vec<EventType>, secret: &str) -> NewWebhookEndpoint {
    NewWebhookEndpoint {
        url: WebhookUrl::parse("https://crm.example/hooks", false).unwrap(),
        event_types: types,
        description: Some("CRM".into()),
        secret: SecretString::new(secret),
    }
}

async fn message(store: &adapters_postgres::PgStore, owner: OwnerId, n: usize) {
    let candidate = support::candidate(owner, &customer(1), at(2));
    store.store_inbound(candidate, inbound(&support::message_sid(n), "oi"), 0, at(2)).await.unwrap();
}

/// Waits until the tenant's events so far are readable (every older transaction of the
/// cluster ended), so an endpoint registered next starts after them.
async fn readable(store: &adapters_postgres::PgStore, owner: OwnerId) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.latest_position(owner).await.unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the events never became readable");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn failed(claim: &ClaimedDelivery, next: DeliveryNext, disable_after: u32) -> AttemptRecord {
    let now = Utc::now();
    AttemptRecord {
        attempt: WebhookAttempt {
            number: claim.attempt,
            attempted_at: now,
            status_code: None,
            error: Some("connection refused".into()),
            latency_ms: 3,
            response_excerpt: None,
            next_attempt_at: match next {
                DeliveryNext::RetryAt(when) => Some(when),
                _ => None,
            },
        },
        outcome: AttemptOutcome::TransportError { error: "connection refused".into() },
        next,
        disable_after_failures: disable_after,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_fanned_out_once_claimed_within_bounds_and_disable_a_failing_endpoint() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenant = create_tenant(&store, "acme").await;
    create_account(&store, tenant.id(), 1, &[support::BUSINESS]).await;
    message(&store, tenant.id(), 1).await;
    readable(&store, tenant.id()).await;

    let all =
        store.create_webhook_endpoint(tenant.id(), endpoint(vec![], "whsec_YWJj"), at(3)).await.unwrap();
    let created_only = store
        .create_webhook_endpoint(
            tenant.id(),
            endpoint(vec![EventType::ConversationCreated], "whsec_ZGVm"),
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(
        store.fan_out_events(Utc::now(), 100).await.unwrap(),
        0,
        "what was written before registration is not sent"
    );

    message(&store, tenant.id(), 2).await; // on the open conversation: message.created only
    // A second customer opens a conversation: conversation.created and message.created.
    let candidate = support::candidate(tenant.id(), &customer(2), at(4));
    store.store_inbound(candidate, inbound(&support::message_sid(3), "olá"), 0, at(4)).await.unwrap();
    assert_eq!(support::fan_out_until(&store, 4).await, 3 + 1, "three to `all`, one to `created_only`");
    let now = Utc::now();
    assert_eq!(store.fan_out_events(now, 100).await.unwrap(), 0, "once");

    // At most two leased at once per endpoint; a lease holds until it lapses.
    let lease = Duration::seconds(60);
    let first = store.claim_deliveries(now, 10, 2, lease).await.unwrap();
    let per = |claims: &[ClaimedDelivery], id| claims.iter().filter(|c| c.endpoint_id == id).count();
    assert_eq!((per(&first, all.id), per(&first, created_only.id)), (2, 1), "{first:#?}");
    assert!(store.claim_deliveries(now, 10, 2, lease).await.unwrap().is_empty(), "both endpoints are full");
    let claim = first.iter().find(|c| c.endpoint_id == created_only.id).unwrap();
    assert_eq!(claim.event.event_type, EventType::ConversationCreated);
    assert_eq!(claim.secrets.iter().map(SecretString::expose).collect::<Vec<_>>(), ["whsec_ZGVm"]);
    assert_eq!(claim.attempt, 1);

    // A retry is recorded and scheduled; a lapsed claim's outcome is fenced off.
    let retry_at = now + Duration::milliseconds(1);
    let recorded =
        store.record_attempt(claim, failed(claim, DeliveryNext::RetryAt(retry_at), 3)).await.unwrap();
    assert_eq!(recorded, AttemptRecorded::Recorded { disabled: None });
    assert_eq!(
        store.record_attempt(claim, failed(claim, DeliveryNext::GiveUp, 3)).await.unwrap(),
        AttemptRecorded::LeaseLost
    );
    let later = now + Duration::seconds(1);
    let again = store.claim_deliveries(later, 10, 2, lease).await.unwrap();
    let again = again.iter().find(|c| c.endpoint_id == created_only.id).expect("due again");
    assert_eq!(again.attempt, 2);
    let recorded = store.record_attempt(again, failed(again, DeliveryNext::RetryAt(later), 2)).await.unwrap();
    let AttemptRecorded::Recorded { disabled: Some(reason) } = recorded else { panic!("{recorded:?}") };
    assert!(reason.contains("2 attempts in a row failed"), "{reason}");
    let disabled = store.get_webhook_endpoint(tenant.id(), created_only.id).await.unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some(reason.as_str()));

    let page =
        store.list_webhook_deliveries(tenant.id(), created_only.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let delivery = &page.items[0];
    assert_eq!(delivery.state, WebhookDeliveryState::Failed, "a disabled endpoint's deliveries fail");
    assert_eq!(delivery.attempts.iter().map(|a| a.number).collect::<Vec<_>>(), [1, 2]);
    let micros = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.timestamp_micros());
    assert_eq!(micros(delivery.attempts[0].next_attempt_at), micros(Some(retry_at)));

    // Enabled again: clean, and a manual retry is claimed at once.
    let enable = WebhookEndpointChanges { enabled: Some(true), ..WebhookEndpointChanges::default() };
    let enabled = store.update_webhook_endpoint(tenant.id(), created_only.id, enable, at(5)).await.unwrap();
    assert_eq!((enabled.enabled, enabled.disabled_reason, enabled.consecutive_failures), (true, None, 0));
    let retried =
        store.retry_webhook_delivery(tenant.id(), created_only.id, delivery.id, later).await.unwrap();
    assert_eq!(
        (retried.state, micros(retried.next_attempt_at)),
        (WebhookDeliveryState::Pending, micros(Some(later)))
    );
    let claimed = store.claim_deliveries(later, 10, 2, lease).await.unwrap();
    assert!(claimed.iter().any(|c| c.delivery_id == delivery.id && c.attempt == 3), "{claimed:#?}");

    // Rotation: both secrets sign until the previous one expires.
    store
        .rotate_webhook_secret(
            tenant.id(),
            all.id,
            SecretString::new("whsec_bmV3"),
            later + Duration::hours(24),
            at(6),
        )
        .await
        .unwrap();
    let mut rotated = store.claim_deliveries(later + Duration::seconds(120), 10, 2, lease).await.unwrap();
    rotated.retain(|c| c.endpoint_id == all.id);
    assert!(!rotated.is_empty());
    let secrets: Vec<&str> = rotated[0].secrets.iter().map(SecretString::expose).collect();
    assert_eq!(secrets, ["whsec_bmV3", "whsec_YWJj"]);

    let depth = store.webhook_queue_depth(later + Duration::seconds(120)).await.unwrap();
    assert_eq!(depth.disabled_endpoints, 0);
    assert!(depth.due >= 1, "{depth:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_reaches_none_of_it_and_retention_takes_deliveries_with_their_events() {
    let db = TestDb::new().await;
    let store = store(&db);
    let (a, b) = (create_tenant(&store, "a").await, create_tenant(&store, "b").await);
    create_account(&store, a.id(), 1, &[support::BUSINESS]).await;
    let mine = store.create_webhook_endpoint(a.id(), endpoint(vec![], "whsec_YWJj"), at(1)).await.unwrap();
    message(&store, a.id(), 1).await;
    assert_eq!(support::fan_out_until(&store, 2).await, 2);
    let delivery =
        store.list_webhook_deliveries(a.id(), mine.id, PageRequest::first(10)).await.unwrap().items[0]
            .clone();

    assert_eq!(store.get_webhook_endpoint(b.id(), mine.id).await, Err(StoreError::NotFound));
    assert_eq!(
        store.list_webhook_deliveries(b.id(), mine.id, PageRequest::first(10)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.retry_webhook_delivery(b.id(), mine.id, delivery.id, at(2)).await,
        Err(StoreError::NotFound)
    );
    let change = WebhookEndpointChanges { enabled: Some(false), ..WebhookEndpointChanges::default() };
    assert_eq!(
        store.update_webhook_endpoint(b.id(), mine.id, change, at(2)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.delete_webhook_endpoint(b.id(), mine.id).await, Err(StoreError::NotFound));
    assert!(store.list_webhook_endpoints(b.id(), PageRequest::first(10)).await.unwrap().items.is_empty());
    assert_eq!(store.list_webhook_endpoints(a.id(), PageRequest::first(10)).await.unwrap().items.len(), 1);

    // Pruning the events prunes their deliveries.
    assert_eq!(store.prune_events(Utc::now() + Duration::days(1), 100).await.unwrap(), 2);
    assert!(
        store
            .list_webhook_deliveries(a.id(), mine.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    store.delete_webhook_endpoint(a.id(), mine.id).await.unwrap();
    assert_eq!(store.get_webhook_endpoint(a.id(), mine.id).await, Err(StoreError::NotFound));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_instance_is_woken_when_deliveries_become_due() {
    let db = TestDb::new().await;
    let store = store(&db);
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let listener = store.listen_for_webhook_deliveries(db.app_url(), wake.clone());
    let woken = |what: &'static str| {
        let wake = wake.clone();
        async move {
            tokio::time::timeout(std::time::Duration::from_secs(5), wake.notified())
                .await
                .unwrap_or_else(|_| panic!("not woken: {what}"));
        }
    };
    woken("listening (notifications may have been missed before)").await;
    let tenant = create_tenant(&store, "acme").await;
    create_account(&store, tenant.id(), 1, &[support::BUSINESS]).await;
    let registered =
        store.create_webhook_endpoint(tenant.id(), endpoint(vec![], "whsec_YWJj"), at(1)).await.unwrap();
    message(&store, tenant.id(), 1).await;
    assert_eq!(support::fan_out_until(&store, 2).await, 2);
    woken("a fan-out created deliveries").await;
    let page =
        store.list_webhook_deliveries(tenant.id(), registered.id, PageRequest::first(1)).await.unwrap();
    store.retry_webhook_delivery(tenant.id(), registered.id, page.items[0].id, Utc::now()).await.unwrap();
    woken("a manual retry").await;
    listener.abort();
}
