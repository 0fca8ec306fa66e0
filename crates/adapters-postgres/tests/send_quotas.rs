//! Send quotas on PostgreSQL: `append_message` counts each queued message against the tenant's
//! day and month, refuses the one past a quota with nothing written, and tells the counts.

mod support;

use domain::{QuotaPeriod, SendQuota};
use ports::{ConversationStore, MessageStore, SendCounts, StoreError};
use support::{at, candidate, create_tenant, customer, outbound, store};
use test_db::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn a_send_past_a_quota_is_refused_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let (open, _) = store.open_or_get_active(candidate(acme.id(), &customer(1), at(0))).await.unwrap();
    let (theirs, _) = store.open_or_get_active(candidate(beta.id(), &customer(1), at(0))).await.unwrap();
    let quota = SendQuota { per_day: Some(2), per_month: Some(10) };

    for n in 1..=2 {
        store.append_message(acme.id(), open.id, outbound("oi"), Some(quota), at(n)).await.unwrap();
    }
    let refused = store.append_message(acme.id(), open.id, outbound("demais"), Some(quota), at(3)).await;
    let resets_at = QuotaPeriod::Day.resets_at(at(3));
    assert_eq!(
        refused.unwrap_err(),
        StoreError::QuotaExceeded { period: QuotaPeriod::Day, limit: 2, resets_at }
    );
    assert_eq!(
        db.count("SELECT count(*) AS count FROM messages").await,
        2,
        "the refused message is not stored"
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 2, "nor queued");
    assert_eq!(store.send_counts(acme.id(), at(3)).await.unwrap(), SendCounts { day: 2, month: 2 });

    // Another tenant counts on its own; a note (no send) is not counted at all.
    store.append_message(beta.id(), theirs.id, outbound("oi"), Some(quota), at(4)).await.unwrap();
    store.append_message(acme.id(), open.id, outbound("nota"), None, at(5)).await.unwrap();
    assert_eq!(store.send_counts(beta.id(), at(5)).await.unwrap(), SendCounts { day: 1, month: 1 });
    assert_eq!(store.send_counts(acme.id(), at(5)).await.unwrap(), SendCounts { day: 2, month: 2 });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_up_month_refuses_even_with_the_day_free_and_a_zero_quota_refuses_the_first() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let (open, _) = store.open_or_get_active(candidate(acme.id(), &customer(1), at(0))).await.unwrap();
    let monthly = SendQuota { per_day: None, per_month: Some(1) };
    store.append_message(acme.id(), open.id, outbound("oi"), Some(monthly), at(1)).await.unwrap();
    let refused = store.append_message(acme.id(), open.id, outbound("oi"), Some(monthly), at(2)).await;
    assert!(
        matches!(refused, Err(StoreError::QuotaExceeded { period: QuotaPeriod::Month, limit: 1, .. })),
        "{refused:?}"
    );
    // The day's count was rolled back with the refused message.
    assert_eq!(store.send_counts(acme.id(), at(2)).await.unwrap(), SendCounts { day: 1, month: 1 });

    let closed = SendQuota { per_day: Some(0), per_month: None };
    let refused = store.append_message(acme.id(), open.id, outbound("oi"), Some(closed), at(3)).await;
    assert!(matches!(refused, Err(StoreError::QuotaExceeded { period: QuotaPeriod::Day, limit: 0, .. })));
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 1);
}
