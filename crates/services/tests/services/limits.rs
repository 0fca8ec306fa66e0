use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Duration;
use domain::{QuotaPeriod, RateLimit, UserRole};
use mockall::predicate::eq;
use ports::{MockClock, MockFeatureStore, MockMessageStore, SendCounts};
use serde_json::json;
use services::{LimitService, ServiceError};

use crate::fixtures::*;

/// A clock at [`now`] plus the seconds in `offset`.
fn moving_clock(offset: Arc<AtomicI64>) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || now() + Duration::seconds(offset.load(Ordering::SeqCst)));
    Arc::new(clock)
}

#[tokio::test]
async fn an_override_is_read_once_per_ttl_and_then_again() {
    let offset = Arc::new(AtomicI64::new(0));
    let mut features = MockFeatureStore::new();
    let mut reads = mockall::Sequence::new();
    features
        .expect_list_features()
        .with(eq(owner_id()))
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_| Ok(vec![feature("limits", true, json!({"burst": 7}))]));
    features
        .expect_list_features()
        .times(1)
        .in_sequence(&mut reads)
        .returning(|_| Ok(vec![feature("limits", true, json!({"burst": 9, "key_burst": 2}))]));
    let service = LimitService::new(
        Arc::new(features),
        Arc::new(MockMessageStore::new()),
        moving_clock(offset.clone()),
        default_limits(),
        Duration::seconds(5),
    );
    let first = service.cached(owner_id()).await.unwrap();
    assert_eq!(first.tenant_rate, RateLimit { per_minute: 600, burst: 7 });
    offset.store(4, Ordering::SeqCst);
    assert_eq!(service.cached(owner_id()).await.unwrap(), first, "within the TTL: no read");
    offset.store(5, Ordering::SeqCst);
    let changed = service.cached(owner_id()).await.unwrap();
    assert_eq!((changed.tenant_rate.burst, changed.key_rate.burst), (9, 2));
}

#[tokio::test]
async fn usage_shows_the_sends_against_the_quotas_in_force_to_any_role() {
    let mut features = MockFeatureStore::new();
    features
        .expect_list_features()
        .returning(|_| Ok(vec![feature("limits", true, json!({"sends_per_month": null}))]));
    let mut messages = MockMessageStore::new();
    messages
        .expect_send_counts()
        .with(eq(owner_id()), eq(now()))
        .times(1)
        .returning(|_, _| Ok(SendCounts { day: 3, month: 40 }));
    let service = LimitService::new(
        Arc::new(features),
        Arc::new(messages),
        clock(),
        default_limits(),
        Duration::seconds(5),
    );
    let usage = service.usage(&viewer()).await.unwrap();
    assert_eq!(usage.sends, SendCounts { day: 3, month: 40 });
    assert_eq!((usage.limits.sends.per_day, usage.limits.sends.per_month), (Some(1_000), None));
    assert_eq!(usage.day_resets_at, QuotaPeriod::Day.resets_at(now()));
    assert_eq!(usage.month_resets_at, QuotaPeriod::Month.resets_at(now()));
}

#[tokio::test]
async fn usage_reports_a_store_that_fails() {
    let mut features = MockFeatureStore::new();
    features.expect_list_features().returning(|_| Err(unavailable()));
    let failing = LimitService::new(
        Arc::new(features),
        Arc::new(MockMessageStore::new()),
        clock(),
        default_limits(),
        Duration::seconds(5),
    );
    assert!(matches!(failing.usage(&principal(UserRole::Admin)).await, Err(ServiceError::Unavailable(_))));
}
