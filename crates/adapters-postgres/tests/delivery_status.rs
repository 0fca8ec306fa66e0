//! Twilio status callbacks arrive late, twice and out of order: the stored delivery status only
//! ever moves forward, whatever the order.

mod support;

use domain::{DeliveryStatus, Message, MessageBody, MessageOwner, NewMessage, OwnerId};
use ports::{ConversationStore, DeliveryFailure, DeliveryUpdate, MessageStore};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use support::{at, candidate, create_tenant, customer, store};
use test_db::TestDb;

use DeliveryStatus::{Delivered, Queued, Read, Sending, Sent, Undelivered};

/// An outbound message already handed to Twilio as `sid`, still `accepted`.
fn sent_message(sid: &str) -> NewMessage {
    let body = MessageBody::new("Seu pedido saiu para entrega").unwrap();
    let mut message = NewMessage::outbound(MessageOwner::Agent, Some(body), Vec::new()).unwrap();
    message.provider_sid = Some(sid.to_owned());
    message.delivery_status = DeliveryStatus::Accepted;
    message
}

fn failure() -> DeliveryFailure {
    DeliveryFailure { code: Some(30_003), message: Some("Unreachable destination handset".to_owned()) }
}

async fn stored_message(
    store: &adapters_postgres::PgStore,
    owner_id: OwnerId,
    n: usize,
    sid: &str,
) -> Message {
    let (conversation, _) = store.open_or_get_active(candidate(owner_id, &customer(n), at(0))).await.unwrap();
    store.append_message(owner_id, conversation.id, sent_message(sid), None, at(1)).await.unwrap().message
}

/// Applies `order` and returns the final message, checking each answer against the rule.
async fn apply_all(
    store: &adapters_postgres::PgStore,
    owner_id: OwnerId,
    sid: &str,
    order: &[DeliveryStatus],
) -> Message {
    let mut current = DeliveryStatus::Accepted;
    let mut last = None;
    for (step, status) in order.iter().enumerate() {
        let failure = status.is_failure().then(failure);
        let at = at(10 + i64::try_from(step).unwrap());
        let update =
            store.apply_delivery_status(owner_id, None, sid.to_owned(), *status, failure, at).await.unwrap();
        match (current.advance(*status), update) {
            (Some(next), DeliveryUpdate::Advanced(message)) => {
                assert_eq!(message.delivery_status, next, "{order:?} at {status}");
                current = next;
                last = Some(message);
            }
            (None, DeliveryUpdate::Unchanged(message)) => {
                assert_eq!(message.delivery_status, current, "{order:?}: a late {status} changes nothing");
                last = Some(message);
            }
            (expected, answer) => panic!("{order:?} at {status}: expected {expected:?}, got {answer:?}"),
        }
    }
    last.expect("at least one callback")
}

#[tokio::test(flavor = "multi_thread")]
async fn shuffled_callbacks_always_end_read() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let mut rng = StdRng::seed_from_u64(0x00c0_ffee);
    let mut orders =
        vec![vec![Read, Delivered, Sent, Sending, Queued], vec![Queued, Sending, Sent, Delivered, Read]];
    for _ in 0..10 {
        let mut order = vec![Queued, Sending, Sent, Delivered, Read];
        order.shuffle(&mut rng);
        orders.push(order);
    }

    for (n, order) in orders.iter().enumerate() {
        let sid = format!("SMread{n:04}");
        let message = stored_message(&store, acme.id(), n, &sid).await;
        let last = apply_all(&store, acme.id(), &sid, order).await;
        assert_eq!(last.delivery_status, Read, "{order:?}");
        let stored = store.get_message(acme.id(), message.id).await.unwrap();
        assert_eq!((stored.delivery_status, stored.error_code), (Read, None), "{order:?}");

        for repeated in order {
            let again = store
                .apply_delivery_status(acme.id(), None, sid.clone(), *repeated, None, at(100))
                .await
                .unwrap();
            assert!(
                matches!(&again, DeliveryUpdate::Unchanged(m) if m.delivery_status == Read),
                "a repeated {repeated} is answered Unchanged: {again:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shuffled_callbacks_of_an_undelivered_message_always_end_undelivered_with_the_error() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let mut rng = StdRng::seed_from_u64(7);

    for n in 0..10 {
        let mut order = vec![Queued, Sending, Sent, Undelivered];
        order.shuffle(&mut rng);
        let sid = format!("SMundl{n:04}");
        let message = stored_message(&store, acme.id(), n, &sid).await;
        apply_all(&store, acme.id(), &sid, &order).await;
        let stored = store.get_message(acme.id(), message.id).await.unwrap();
        assert_eq!(stored.delivery_status, Undelivered, "{order:?}");
        assert_eq!(stored.error_code, Some(30_003), "{order:?}");
        assert_eq!(stored.error_message.as_deref(), Some("Unreachable destination handset"));

        let late = store.apply_delivery_status(acme.id(), None, sid, Delivered, None, at(100)).await.unwrap();
        assert!(matches!(late, DeliveryUpdate::Unchanged(m) if m.delivery_status == Undelivered));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_reported_for_a_non_failure_status_is_not_recorded() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let message = stored_message(&store, acme.id(), 1, "SMok").await;

    let update = store
        .apply_delivery_status(acme.id(), None, "SMok".into(), Sent, Some(failure()), at(5))
        .await
        .unwrap();
    assert!(
        matches!(&update, DeliveryUpdate::Advanced(m) if m.delivery_status == Sent && m.error_code.is_none())
    );
    assert_eq!(store.get_message(acme.id(), message.id).await.unwrap().error_code, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_sid_is_reported_and_changes_nothing() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let message = stored_message(&store, acme.id(), 1, "SMknown").await;

    let unknown =
        store.apply_delivery_status(acme.id(), None, "SMunknown".into(), Delivered, None, at(5)).await;
    assert_eq!(unknown, Ok(DeliveryUpdate::UnknownSid));
    assert_eq!(store.get_message(acme.id(), message.id).await.unwrap(), message);
    let other_tenant = create_tenant(&store, "beta").await;
    let foreign =
        store.apply_delivery_status(other_tenant.id(), None, "SMknown".into(), Delivered, None, at(5)).await;
    assert_eq!(foreign, Ok(DeliveryUpdate::UnknownSid), "another tenant's sid is unknown");
}

/// An outbound message queued for sending (no provider id yet), with its send job.
async fn queued_message(store: &adapters_postgres::PgStore, owner_id: OwnerId, n: usize) -> Message {
    let (conversation, _) = store.open_or_get_active(candidate(owner_id, &customer(n), at(0))).await.unwrap();
    let message = support::outbound("Seu pedido saiu para entrega");
    store
        .append_message(owner_id, conversation.id, message, Some(domain::SendQuota::UNLIMITED), at(1))
        .await
        .unwrap()
        .message
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_before_the_sid_is_recorded_is_applied_to_the_message_it_names_and_kept() {
    use ports::{Recorded, SendQueue};

    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let message = queued_message(&store, acme.id(), 1).await;
    // The dispatcher handed it to Twilio; its record of Twilio's answer has not happened yet.
    let claimed = store.claim_due(at(2), 10, chrono::Duration::minutes(2)).await.unwrap().remove(0);

    // The old behaviour: by SID alone, the message is not found.
    let by_sid = store.apply_delivery_status(acme.id(), None, "SMearly".into(), Delivered, None, at(3));
    assert_eq!(by_sid.await, Ok(DeliveryUpdate::UnknownSid));
    let early = store
        .apply_delivery_status(acme.id(), Some(message.id), "SMearly".into(), Delivered, None, at(3))
        .await;
    let Ok(DeliveryUpdate::Advanced(applied)) = early else { panic!("applied by id: {early:?}") };
    assert_eq!((applied.id, applied.provider_sid.as_deref()), (message.id, Some("SMearly")));
    assert_eq!(applied.delivery_status, Delivered);

    // The dispatcher's own record comes later with Twilio's first status: it moves nothing back.
    let recorded = store.mark_sent(claimed.job, "SMearly".into(), Queued, at(4)).await;
    assert_eq!(recorded, Ok(Recorded::Applied));
    let stored = store.get_message(acme.id(), message.id).await.unwrap();
    assert_eq!((stored.provider_sid.as_deref(), stored.delivery_status), (Some("SMearly"), Delivered));
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);

    // Later callbacks find it by SID, whether their URL names it or not.
    let read = store.apply_delivery_status(acme.id(), None, "SMearly".into(), Read, None, at(5)).await;
    assert!(matches!(read, Ok(DeliveryUpdate::Advanced(ref m)) if m.delivery_status == Read), "{read:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_naming_another_tenants_message_or_another_sends_message_touches_nothing() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let theirs = queued_message(&store, beta.id(), 1).await;
    let sent = stored_message(&store, acme.id(), 2, "SMfirst").await;
    let (conversation, _) =
        store.open_or_get_active(candidate(acme.id(), &customer(3), at(0))).await.unwrap();
    let received =
        store.store_inbound(conversation, support::inbound("SMin", "Oi"), 0, at(2)).await.unwrap().message;

    for (owner, named) in [
        (acme.id(), theirs.id),   // beta's message, named in a callback acme's account signed
        (acme.id(), sent.id),     // a message Twilio already knows under another SID
        (acme.id(), received.id), // an inbound message
    ] {
        let update =
            store.apply_delivery_status(owner, Some(named), "SMother".into(), Delivered, None, at(5));
        assert_eq!(update.await, Ok(DeliveryUpdate::UnknownSid), "{named}");
    }
    assert_eq!(store.get_message(beta.id(), theirs.id).await.unwrap(), theirs);
    assert_eq!(store.get_message(acme.id(), sent.id).await.unwrap(), sent);
    assert_eq!(
        store.get_message(acme.id(), received.id).await.unwrap().provider_sid.as_deref(),
        Some("SMin")
    );
}
