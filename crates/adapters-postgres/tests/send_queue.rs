//! `SendQueue` on PostgreSQL: claims with leases, concurrent workers, retries and failures, and the
//! depth count for monitoring.

mod support;

use std::collections::BTreeSet;

use adapters_postgres::PgStore;
use chrono::Duration;
use domain::{Channel, ConversationId, DeliveryStatus, MessageId, OwnerId};
use ports::{
    ClaimedSend, ConflictKind, ConversationStore, DeliveryFailure, MessageStore, Recorded, SendQueue,
    SendQueueDepth, StoreError, Unsendable,
};
use support::{
    BUSINESS, account_sid, at, auth_token, candidate, create_account, create_tenant, customer, outbound,
    store,
};
use test_db::TestDb;

const LEASE: Duration = Duration::minutes(5);

/// Appends a message with a send job to `conversation` at `seconds`.
async fn enqueue(
    store: &PgStore,
    owner_id: OwnerId,
    conversation: ConversationId,
    seconds: i64,
) -> MessageId {
    let body = format!("mensagem {seconds}");
    store
        .append_message(
            owner_id,
            conversation,
            outbound(&body),
            Some(domain::SendQuota::UNLIMITED),
            at(seconds),
        )
        .await
        .unwrap()
        .message
        .id
}

async fn open(store: &PgStore, owner_id: OwnerId, n: usize) -> ConversationId {
    store.open_or_get_active(candidate(owner_id, &customer(n), at(0))).await.unwrap().0.id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_carries_the_message_numbers_and_credentials() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    create_account(&store, acme.id(), 1, &[BUSINESS]).await;
    create_account(&store, beta.id(), 2, &["+14155550102"]).await;
    let ours = open(&store, acme.id(), 1).await;
    let unowned = open(&store, beta.id(), 2).await;
    let with_account = enqueue(&store, acme.id(), ours, 10).await;
    let without_account = enqueue(&store, beta.id(), unowned, 20).await;

    let mut claimed = store.claim_due(at(30), 10, LEASE).await.unwrap();
    claimed.sort_by_key(|c| c.message.created_at);
    assert_eq!(claimed.len(), 2);
    let ours = &claimed[0];
    assert_eq!((ours.job.owner_id, ours.job.message_id, ours.job.attempts), (acme.id(), with_account, 0));
    assert_eq!(ours.message.id, with_account);
    assert_eq!(ours.message.body.as_ref().unwrap().as_str(), "mensagem 10");
    assert_eq!((ours.from.channel, ours.from.to_twilio()), (Channel::Sms, BUSINESS.to_owned()));
    assert_eq!(ours.to.to_twilio(), customer(1));
    let credentials = ours.credentials.as_ref().expect("acme's account owns the business number");
    assert_eq!(
        (credentials.account.as_str(), credentials.secret.expose()),
        (account_sid(1).as_str(), auth_token(1).as_str())
    );

    let theirs = &claimed[1];
    assert_eq!(theirs.job.message_id, without_account);
    assert_eq!(
        theirs.credentials,
        Err(Unsendable::NoAccount { from: BUSINESS.to_owned() }),
        "beta's account does not own the number it sends from"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claimed_job_is_leased_until_its_lease_ends() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    let message = enqueue(&store, acme.id(), conversation, 10).await;

    assert_eq!(
        store.claim_due(at(5), 10, LEASE).await.unwrap(),
        Vec::new(),
        "not due before it was enqueued"
    );
    let first = store.claim_due(at(20), 10, LEASE).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(store.claim_due(at(20), 10, LEASE).await.unwrap(), Vec::new(), "leased");
    let lease_end = at(20) + LEASE;
    assert_eq!(store.claim_due(lease_end - Duration::seconds(1), 10, LEASE).await.unwrap(), Vec::new());

    let reclaimed = store.claim_due(lease_end, 10, LEASE).await.unwrap();
    assert_eq!(reclaimed.len(), 1, "a worker that died loses its lease");
    assert_eq!((reclaimed[0].job.id, reclaimed[0].job.message_id), (first[0].job.id, message));
    assert_eq!(reclaimed[0].job.attempts, 0, "a lost lease is not a failed attempt");
}

#[tokio::test(flavor = "multi_thread")]
async fn mark_sent_stores_the_provider_id_and_drops_the_job() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    let message = enqueue(&store, acme.id(), conversation, 10).await;
    let claimed = store.claim_due(at(20), 10, LEASE).await.unwrap().remove(0);

    let recorded = store.mark_sent(claimed.job, "SMsent01".into(), DeliveryStatus::Queued, at(21)).await;
    assert_eq!(recorded, Ok(Recorded::Applied));
    let sent = store.get_message(acme.id(), message).await.unwrap();
    assert_eq!(
        (sent.provider_sid.as_deref(), sent.delivery_status),
        (Some("SMsent01"), DeliveryStatus::Queued)
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);
    assert_eq!(store.claim_due(at(20) + LEASE * 2, 10, LEASE).await.unwrap(), Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_id_another_message_has_is_the_message_sid_conflict() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    enqueue(&store, acme.id(), conversation, 10).await;
    enqueue(&store, acme.id(), conversation, 11).await;
    let mut claimed = store.claim_due(at(20), 10, LEASE).await.unwrap();
    claimed.sort_by_key(|c| c.message.created_at);
    let (first, second) = (claimed.remove(0), claimed.remove(0));

    store.mark_sent(first.job, "SMsame01".into(), DeliveryStatus::Queued, at(21)).await.unwrap();
    let again = store.mark_sent(second.job, "SMsame01".into(), DeliveryStatus::Queued, at(22)).await;
    assert_eq!(again, Err(StoreError::Conflict(ConflictKind::MessageSidTaken)));
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 1, "the second job is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn schedule_retry_counts_the_attempt_and_delays_the_job() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    enqueue(&store, acme.id(), conversation, 10).await;
    let claimed = store.claim_due(at(20), 10, LEASE).await.unwrap().remove(0);

    let retry_at = at(20) + LEASE * 3;
    store.schedule_retry(claimed.job.clone(), retry_at, "503 from Twilio".into(), at(21)).await.unwrap();
    assert_eq!(store.claim_due(at(20) + LEASE, 10, LEASE).await.unwrap(), Vec::new(), "not before retry_at");
    let again = store.claim_due(retry_at, 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].job.id, again[0].job.attempts), (claimed.job.id, 1));
    let errors =
        "SELECT count(*) AS count FROM send_jobs WHERE last_error = '503 from Twilio' AND attempts = 1";
    assert_eq!(db.count(errors).await, 1);

    store.schedule_retry(again[0].job.clone(), retry_at + LEASE, "timeout".into(), at(22)).await.unwrap();
    let third = store.claim_due(retry_at + LEASE, 10, LEASE).await.unwrap();
    assert_eq!(third[0].job.attempts, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn mark_failed_fails_the_message_with_the_error_and_drops_the_job() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    let message = enqueue(&store, acme.id(), conversation, 10).await;
    let claimed = store.claim_due(at(20), 10, LEASE).await.unwrap().remove(0);

    let failure = DeliveryFailure { code: Some(21_211), message: Some("Invalid 'To' Phone Number".into()) };
    store.mark_failed(claimed.job, failure, at(21)).await.unwrap();
    let failed = store.get_message(acme.id(), message).await.unwrap();
    assert_eq!(failed.delivery_status, DeliveryStatus::Failed);
    assert_eq!(
        (failed.error_code, failed.error_message.as_deref()),
        (Some(21_211), Some("Invalid 'To' Phone Number"))
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);
    assert_eq!(store.claim_due(at(20) + LEASE * 2, 10, LEASE).await.unwrap(), Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn depth_counts_due_and_deferred_jobs_of_every_tenant_without_claiming_them() {
    let db = TestDb::new().await;
    let store = store(&db);
    assert_eq!(store.depth(at(0)).await.unwrap(), SendQueueDepth::default(), "an empty queue");
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let (ours, theirs) = (open(&store, acme.id(), 1).await, open(&store, beta.id(), 2).await);
    for seconds in [10, 20, 30] {
        enqueue(&store, acme.id(), ours, seconds).await;
    }
    enqueue(&store, beta.id(), theirs, 15).await;
    // At 25 the jobs of 10, 15 and 20 are due; the one at 30 is not yet.
    let leased = store.claim_due(at(25), 1, LEASE).await.unwrap().remove(0);
    assert_eq!(leased.message.body.unwrap().as_str(), "mensagem 10");
    let retrying = store.claim_due(at(25), 1, LEASE).await.unwrap().remove(0);
    store.schedule_retry(retrying.job, at(90), "503 from Twilio".into(), at(26)).await.unwrap();

    let depth = store.depth(at(26)).await.unwrap();
    assert_eq!(
        depth,
        SendQueueDepth { due: 1, deferred: 3, oldest_due_at: Some(at(20)) },
        "due: 20; deferred: 10 (leased), 15 (retrying), 30 (not due yet)"
    );
    assert_eq!(store.depth(at(26)).await.unwrap(), depth, "counting claims nothing");
    let later = store.depth(at(25) + LEASE).await.unwrap();
    assert_eq!((later.due, later.deferred), (4, 0), "the lease ended and every job is due");
    assert_eq!(later.oldest_due_at, Some(at(20)));
}

/// A worker: claims small batches at `seconds` and marks each job sent until nothing is due.
async fn work(store: PgStore, worker: usize, seconds: i64) -> Vec<ClaimedSend> {
    let mut handled = Vec::new();
    loop {
        let batch = store.claim_due(at(seconds), 2, LEASE).await.expect("claim");
        if batch.is_empty() {
            return handled;
        }
        for claimed in batch {
            let sid = format!("SM{worker}x{}", claimed.job.message_id.as_uuid().simple());
            let recorded = store
                .mark_sent(claimed.job.clone(), sid, DeliveryStatus::Sent, at(seconds + 1))
                .await
                .expect("mark sent");
            assert_eq!(recorded, Recorded::Applied, "the worker holds what it claimed");
            handled.push(claimed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_workers_send_each_job_exactly_once() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenants = [create_tenant(&store, "acme").await, create_tenant(&store, "beta").await];
    let mut messages = BTreeSet::new();
    let mut conversations = Vec::new();
    for tenant in &tenants {
        for n in 0..3 {
            conversations.push((tenant.id(), open(&store, tenant.id(), n).await));
        }
    }
    // Jobs interleaved across conversations in changing orders, so the two workers' batches
    // touch the same conversations in different orders.
    for round in 0..8_usize {
        for k in 0..conversations.len() {
            let (owner_id, conversation) = conversations[(k * (round + 1)) % conversations.len()];
            let seconds = i64::try_from(round * 100 + k).unwrap();
            messages.insert(enqueue(&store, owner_id, conversation, seconds).await);
        }
    }
    assert_eq!(messages.len(), 48);

    let workers: Vec<_> = (0..2).map(|worker| tokio::spawn(work(store.clone(), worker, 1_000))).collect();
    let mut handled = Vec::new();
    for worker in workers {
        handled.extend(worker.await.expect("worker ran"));
    }

    let handled_messages: Vec<MessageId> = handled.iter().map(|c| c.job.message_id).collect();
    let unique: BTreeSet<MessageId> = handled_messages.iter().copied().collect();
    assert_eq!(unique.len(), handled_messages.len(), "no job was claimed twice");
    assert_eq!(unique, messages, "every job was claimed");
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);
    let sent =
        "SELECT count(*) AS count FROM messages WHERE delivery_status = 'sent' AND provider_sid LIKE 'SM%'";
    assert_eq!(db.count(sent).await, 48, "every message was marked sent once");
}

/// Waits (up to five seconds) until `done` holds.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if done().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn workers_claiming_jobs_of_the_same_conversations_in_opposite_orders_do_not_deadlock() {
    use diesel_async::SimpleAsyncConnection;

    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let (first, second) = (open(&store, acme.id(), 1).await, open(&store, acme.id(), 2).await);
    for (seconds, conversation) in [(10, first), (20, second), (30, second), (40, first)] {
        enqueue(&store, acme.id(), conversation, seconds).await;
    }
    // Another transaction (an agent's reply, a close…) holds the first conversation for a moment.
    let mut gate = db.owner_connection().await;
    gate.batch_execute(&format!("BEGIN; SELECT id FROM conversations WHERE id = '{first}' FOR UPDATE"))
        .await
        .unwrap();
    let waiting = "SELECT count(*) AS count FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'";

    // Worker A claims the jobs at 10 (first) and 20 (second); worker B those at 30 (second)
    // and 40 (first).
    let a = tokio::spawn({
        let store = store.clone();
        async move { store.claim_due(at(100), 2, LEASE).await }
    });
    assert!(eventually(async || a.is_finished() || db.count(waiting).await >= 1).await);
    let b = tokio::spawn({
        let store = store.clone();
        async move { store.claim_due(at(100), 2, LEASE).await }
    });
    let a_waits = i64::from(!a.is_finished());
    assert!(eventually(async || b.is_finished() || db.count(waiting).await > a_waits).await);
    gate.batch_execute("COMMIT").await.unwrap();

    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let claimed: BTreeSet<_> =
        [a, b].into_iter().flat_map(|r| r.expect("no claim fails")).map(|c| c.job.id).collect();
    assert_eq!(claimed.len(), 4, "every job claimed once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_data_cannot_be_read_does_not_block_the_others() {
    let db = TestDb::new().await;
    let store = store(&db);
    // Acme's token was sealed under another key (a rotated or misconfigured key).
    let other_key = adapters_postgres::TokenCipher::from_hex(&"ee".repeat(32)).unwrap();
    let sealed_elsewhere = support::store_with(&db.app_url(), other_key);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    create_account(&sealed_elsewhere, acme.id(), 1, &[BUSINESS]).await;
    create_account(&store, beta.id(), 2, &[BUSINESS]).await;
    let unreadable = enqueue(&store, acme.id(), open(&store, acme.id(), 1).await, 10).await;
    let readable = enqueue(&store, beta.id(), open(&store, beta.id(), 2).await, 20).await;

    let claimed = store.claim_due(at(30), 10, LEASE).await.expect("one bad job does not fail the batch");
    assert_eq!(claimed.iter().map(|c| c.message.id).collect::<Vec<_>>(), [readable]);
    assert!(claimed[0].credentials.is_ok());
    // The unreadable job stays queued (leased), neither sent nor lost.
    assert_eq!(
        db.count(&format!("SELECT count(*) AS count FROM send_jobs WHERE message_id = '{unreadable}'")).await,
        1
    );
    assert!(store.claim_due(at(31), 10, LEASE).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_apply_only_under_the_claim_that_holds_the_job() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    let message = enqueue(&store, acme.id(), conversation, 10).await;
    let stale = store.claim_due(at(20), 10, LEASE).await.unwrap().remove(0);
    // The stale worker stalls past its lease; another claims the job.
    let holder = store.claim_due(at(20) + LEASE, 10, LEASE).await.unwrap().remove(0);
    assert_eq!(holder.job.id, stale.job.id);
    assert_ne!(holder.job.lease, stale.job.lease, "every claim has its own token");
    let job_row = "SELECT count(*) AS count FROM send_jobs WHERE attempts = 0 AND last_error IS NULL";

    // Nothing the stale claim records touches the job or fails the message.
    let retry = store.schedule_retry(stale.job.clone(), at(30), "503".into(), at(21)).await;
    assert_eq!(retry, Ok(Recorded::LeaseLost));
    let failure = DeliveryFailure { code: Some(21_211), message: Some("refused".into()) };
    assert_eq!(store.mark_failed(stale.job.clone(), failure, at(21)).await, Ok(Recorded::LeaseLost));
    assert_eq!(db.count(job_row).await, 1, "the job is as the holder claimed it");
    assert_eq!(store.get_message(acme.id(), message).await.unwrap().delivery_status, DeliveryStatus::Queued);

    // Twilio took the stale worker's send: that fact is recorded on the message (so no later
    // claim sends it again), but the job stays with its holder.
    let late = store.mark_sent(stale.job.clone(), "SMstale1".into(), DeliveryStatus::Queued, at(22)).await;
    assert_eq!(late, Ok(Recorded::LeaseLost));
    assert_eq!(db.count(job_row).await, 1);
    let stored = store.get_message(acme.id(), message).await.unwrap();
    assert_eq!(stored.provider_sid.as_deref(), Some("SMstale1"));

    // The holder's own outcome applies; the first provider id recorded stays.
    let held = store.mark_sent(holder.job.clone(), "SMholder".into(), DeliveryStatus::Sent, at(23)).await;
    assert_eq!(held, Ok(Recorded::Applied));
    let stored = store.get_message(acme.id(), message).await.unwrap();
    assert_eq!(
        (stored.provider_sid.as_deref(), stored.delivery_status),
        (Some("SMstale1"), DeliveryStatus::Sent)
    );
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0);
    assert_eq!(
        store.mark_sent(holder.job, "SMholder".into(), DeliveryStatus::Sent, at(24)).await,
        Ok(Recorded::LeaseLost)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_claim_of_a_message_accepted_under_a_lapsed_lease_carries_its_provider_id() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let conversation = open(&store, acme.id(), 1).await;
    enqueue(&store, acme.id(), conversation, 10).await;
    let stale = store.claim_due(at(20), 10, LEASE).await.unwrap().remove(0);
    // Twilio accepted; the record came after the lease (the database was slow), before any claim.
    let late = store.mark_sent(stale.job, "SMslow01".into(), DeliveryStatus::Queued, at(20) + LEASE).await;
    assert_eq!(late, Ok(Recorded::Applied), "nobody else claimed it: the claim still held it");
    assert!(store.claim_due(at(20) + LEASE * 2, 10, LEASE).await.unwrap().is_empty());

    enqueue(&store, acme.id(), conversation, 30).await;
    let stale = store.claim_due(at(40), 10, LEASE).await.unwrap().remove(0);
    let holder = store.claim_due(at(40) + LEASE, 10, LEASE).await.unwrap().remove(0);
    assert_eq!(holder.message.provider_sid, None);
    let late = store.mark_sent(stale.job, "SMslow02".into(), DeliveryStatus::Queued, at(41) + LEASE).await;
    assert_eq!(late, Ok(Recorded::LeaseLost));
    // The holder died too; the claim after it sees the id and must not send again.
    let next = store.claim_due(at(40) + LEASE * 2, 10, LEASE).await.unwrap().remove(0);
    assert_eq!(next.message.provider_sid.as_deref(), Some("SMslow02"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_tenant_or_account_is_claimed_unsendable_saying_which() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    create_account(&store, acme.id(), 1, &[BUSINESS]).await;
    create_account(&store, beta.id(), 2, &[BUSINESS]).await;
    let ours = enqueue(&store, acme.id(), open(&store, acme.id(), 1).await, 10).await;
    let theirs = enqueue(&store, beta.id(), open(&store, beta.id(), 2).await, 20).await;
    support::exec_as_owner(&db, &format!("UPDATE owners SET active = false WHERE id = '{}'", acme.id()))
        .await;
    support::exec_as_owner(
        &db,
        &format!("UPDATE twilio_accounts SET active = false WHERE owner_id = '{}'", beta.id()),
    )
    .await;

    let mut claimed = store.claim_due(at(30), 10, LEASE).await.unwrap();
    claimed.sort_by_key(|c| c.message.created_at);
    assert_eq!((claimed[0].message.id, claimed[1].message.id), (ours, theirs));
    assert_eq!(claimed[0].credentials, Err(Unsendable::TenantInactive));
    assert_eq!(
        claimed[1].credentials,
        Err(Unsendable::AccountInactive { account: account_sid(2), from: BUSINESS.to_owned() })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_workers_after_a_lapsed_lease_send_each_job_once_and_the_stale_worker_changes_nothing() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let mut messages = BTreeSet::new();
    for n in 0..3 {
        let conversation = open(&store, acme.id(), n).await;
        for k in 0..4 {
            messages
                .insert(enqueue(&store, acme.id(), conversation, i64::try_from(n * 10 + k).unwrap()).await);
        }
    }
    // A worker claims everything and stalls (API load, a paused process) past its lease.
    let stale = store.claim_due(at(100), 20, LEASE).await.unwrap();
    assert_eq!(stale.len(), 12);

    let lapsed = (at(100) + LEASE - at(0)).num_seconds();
    let workers: Vec<_> = (0..2).map(|worker| tokio::spawn(work(store.clone(), worker, lapsed))).collect();
    let mut handled = Vec::new();
    for worker in workers {
        handled.extend(worker.await.expect("worker ran"));
    }
    let unique: BTreeSet<MessageId> = handled.iter().map(|c| c.job.message_id).collect();
    assert_eq!((unique.len(), handled.len()), (12, 12), "each job claimed once by the two");
    assert_eq!(unique, messages);

    // The stale worker wakes up and records what it thinks happened: nothing applies.
    for (n, claimed) in stale.into_iter().enumerate() {
        let failure = DeliveryFailure { code: None, message: Some("out of attempts".into()) };
        let outcome = match n % 3 {
            0 => store.mark_failed(claimed.job, failure, at(900)).await,
            1 => store.schedule_retry(claimed.job, at(901), "503".into(), at(900)).await,
            _ => store.mark_sent(claimed.job, format!("SMstale{n}"), DeliveryStatus::Queued, at(900)).await,
        };
        assert_eq!(outcome, Ok(Recorded::LeaseLost));
    }
    assert_eq!(db.count("SELECT count(*) AS count FROM send_jobs").await, 0, "nothing revived");
    let sent = "SELECT count(*) AS count FROM messages
                 WHERE delivery_status = 'sent' AND provider_sid LIKE 'SM_x%' AND error_message IS NULL";
    assert_eq!(db.count(sent).await, 12, "every message as its holder recorded it");
}
