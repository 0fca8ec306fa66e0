//! The spool: verified webhooks the database cannot take are kept and acknowledged, then
//! replayed oldest first, as of their arrival.

use chrono::{DateTime, Duration, Utc};
use mockall::Sequence;
use mockall::predicate::{always, eq};
use ports::{DeliveryUpdate, SpoolError, SpoolSeq, SpooledKind, SpooledWebhook, StoreError};
use services::{DrainReport, Receipt, ServiceError};

use crate::fixtures::*;
use crate::twilio::*;

/// How many entries a drain reads.
const BATCH: usize = 50;

/// A second Twilio account, no longer active.
const GONE_ACCOUNT_SID: &str = "ACffffffffffffffffffffffffffffffff";

/// A verified tenant whose message store cannot take the one webhook of `kind`.
fn database_down(kind: SpooledKind) -> Setup {
    let mut setup = Setup::tenant(&[]).no_detection();
    match kind {
        SpooledKind::Inbound => {
            setup.messages.expect_store_inbound().times(1).returning(|_, _, _, _| Err(unavailable()));
        }
        SpooledKind::Status => {
            setup
                .messages
                .expect_apply_delivery_status()
                .times(1)
                .returning(|_, _, _, _, _, _| Err(unavailable()));
        }
    }
    setup
}

/// What the spool should receive for a webhook of `kind` with `fields`, received now.
fn spooled(kind: SpooledKind, fields: &Fields) -> SpooledWebhook {
    SpooledWebhook {
        kind,
        account_sid: ACCOUNT_SID.to_owned(),
        fields: fields.pairs(),
        received_at: now(),
        message_id: None,
    }
}

/// `setup`'s spool expects exactly `entry` once, answering `answer`.
fn pushing(mut setup: Setup, entry: SpooledWebhook, answer: Result<SpoolSeq, SpoolError>) -> Setup {
    setup.spool.expect_push().with(eq(entry)).times(1).return_once(move |_| answer);
    setup
}

#[tokio::test]
async fn an_inbound_message_the_database_cannot_take_is_spooled_and_acknowledged() {
    let fields = Fields::inbound("oi").set("ProfileName", "Ana");
    let setup =
        pushing(database_down(SpooledKind::Inbound), spooled(SpooledKind::Inbound, &fields), Ok(SpoolSeq(7)));
    assert_eq!(setup.inbound(fields).await, Ok(Receipt::Spooled));
}

#[tokio::test]
async fn a_status_callback_the_database_cannot_take_is_spooled_and_acknowledged() {
    let fields = Fields::status("undelivered").set("ErrorCode", "30006");
    let setup =
        pushing(database_down(SpooledKind::Status), spooled(SpooledKind::Status, &fields), Ok(SpoolSeq(8)));
    assert_eq!(setup.status(fields).await, Ok(Receipt::Spooled));
}

#[tokio::test]
async fn a_message_the_store_failed_on_unexpectedly_is_spooled_rather_than_lost() {
    // Twilio does not retry: whatever the store's failure was, it did not pin it on the message.
    let failed = || StoreError::Internal("permission denied for table messages".into());
    let fields = Fields::inbound("oi");
    let mut setup = Setup::tenant(&[]).no_detection();
    setup.messages.expect_store_inbound().times(1).returning(move |_, _, _, _| Err(failed()));
    let setup = pushing(setup, spooled(SpooledKind::Inbound, &fields), Ok(SpoolSeq(9)));
    assert_eq!(setup.inbound(fields).await, Ok(Receipt::Spooled));

    let fields = Fields::status("delivered");
    let mut setup = Setup::tenant(&[]);
    setup.messages.expect_apply_delivery_status().times(1).returning(move |_, _, _, _, _, _| Err(failed()));
    let setup = pushing(setup, spooled(SpooledKind::Status, &fields), Ok(SpoolSeq(10)));
    assert_eq!(setup.status(fields).await, Ok(Receipt::Spooled));
}

#[tokio::test]
async fn a_full_or_failing_spool_makes_the_webhook_unavailable() {
    for error in [SpoolError::Full, SpoolError::Storage("disk full".into())] {
        let fields = Fields::inbound("oi");
        let setup = pushing(
            database_down(SpooledKind::Inbound),
            spooled(SpooledKind::Inbound, &fields),
            Err(error.clone()),
        );
        let result = setup.inbound(fields).await;
        assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");

        let fields = Fields::status("sent");
        let setup =
            pushing(database_down(SpooledKind::Status), spooled(SpooledKind::Status, &fields), Err(error));
        let result = setup.status(fields).await;
        assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
    }
}

#[tokio::test]
async fn an_unavailable_account_lookup_is_unavailable_and_spools_nothing() {
    for inbound in [true, false] {
        let mut setup = Setup::new().stores_nothing();
        setup.accounts.expect_webhook_account().times(1).returning(|_| Err(unavailable()));
        setup.verifier.expect_verify().never();
        let result = if inbound {
            setup.inbound(Fields::inbound("oi")).await.map(drop)
        } else {
            setup.status(Fields::status("sent")).await.map(drop)
        };
        assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
    }
}

/// When entry `n` (1, 2, …) was received: `n` hours ago, so earlier entries are older.
fn received(n: u64) -> DateTime<Utc> {
    now() - Duration::hours(i64::try_from(10 - n).unwrap())
}

/// The `MessageSid` of entry `n`.
fn sid(n: u64) -> String {
    format!("SM{n:032}")
}

/// Spool entry `n`: an inbound message with its own `MessageSid`, received at [`received`].
fn inbound_entry(n: u64) -> (SpoolSeq, SpooledWebhook) {
    let fields = Fields::inbound("oi").set("MessageSid", sid(n));
    (SpoolSeq(n), SpooledWebhook { received_at: received(n), ..spooled(SpooledKind::Inbound, &fields) })
}

impl Setup {
    /// The spool hands out `entries` for one drain of [`BATCH`]; signatures are never checked
    /// again and detection finds nothing to close.
    fn spool_holding(mut self, entries: Vec<(SpoolSeq, SpooledWebhook)>) -> Self {
        self.spool.expect_oldest().with(eq(BATCH)).times(1).return_once(move |_| Ok(entries));
        self.verifier.expect_verify().never();
        self.spool.expect_push().never();
        self.no_detection()
    }

    /// Entry `n` is stored once, as of when it was received.
    fn replaying(mut self, n: u64, seq: &mut Sequence) -> Self {
        self.messages
            .expect_store_inbound()
            .withf(move |candidate, message, _, at| {
                *at == received(n)
                    && candidate.created_at == received(n)
                    && message.provider_sid.as_deref() == Some(sid(n).as_str())
            })
            .times(1)
            .in_sequence(seq)
            .returning(|candidate, message, _, at| Ok(opened(candidate, &message, at)));
        self
    }

    /// Entries `ns` are removed from the spool together, once, after the batch.
    fn removing(mut self, ns: &[u64], seq: &mut Sequence) -> Self {
        let seqs: Vec<SpoolSeq> = ns.iter().copied().map(SpoolSeq).collect();
        self.spool.expect_remove().with(eq(seqs)).times(1).in_sequence(seq).returning(|_| Ok(()));
        self
    }

    /// Entry `n` is buried once, with a reason containing `why`.
    fn burying(mut self, n: u64, why: &'static str, seq: &mut Sequence) -> Self {
        self.spool
            .expect_bury()
            .withf(move |buried, reason| *buried == SpoolSeq(n) && reason.contains(why))
            .times(1)
            .in_sequence(seq)
            .returning(|_, _| Ok(()));
        self
    }

    async fn drain(self) -> Result<DrainReport, ServiceError> {
        self.service().drain_spool(BATCH).await
    }
}

#[tokio::test]
async fn drain_replays_oldest_first_as_of_arrival_and_removes_them_in_one_commit() {
    let mut seq = Sequence::new();
    let setup = Setup::new()
        .account_found(&[], 2)
        .spool_holding(vec![inbound_entry(1), inbound_entry(2)])
        .replaying(1, &mut seq)
        .replaying(2, &mut seq)
        .removing(&[1, 2], &mut seq);
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 2, buried: 0, stalled: false }));
}

#[tokio::test]
async fn drain_replays_status_callbacks_as_of_arrival() {
    let fields = Fields::status("delivered");
    let entry = SpooledWebhook { received_at: received(1), ..spooled(SpooledKind::Status, &fields) };
    let mut setup = Setup::new().account_found(&[], 1).spool_holding(vec![(SpoolSeq(1), entry)]);
    setup
        .messages
        .expect_apply_delivery_status()
        .with(
            eq(owner_id()),
            eq(None),
            eq(MESSAGE_SID.to_owned()),
            eq(domain::DeliveryStatus::Delivered),
            always(),
            eq(received(1)),
        )
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(DeliveryUpdate::UnknownSid));
    let mut seq = Sequence::new();
    let setup = setup.removing(&[1], &mut seq);
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 1, buried: 0, stalled: false }));
}

#[tokio::test]
async fn drain_stops_at_the_first_entry_the_database_still_cannot_take() {
    let mut seq = Sequence::new();
    let mut setup = Setup::new()
        .account_found(&[], 2)
        .spool_holding(vec![inbound_entry(1), inbound_entry(2), inbound_entry(3)])
        .replaying(1, &mut seq);
    setup
        .messages
        .expect_store_inbound()
        .withf(|_, message, _, at| *at == received(2) && message.provider_sid == Some(sid(2)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Err(unavailable()));
    // What was replayed before the stall is removed.
    let mut setup = setup.removing(&[1], &mut seq);
    // Entry 2 stays; entry 3 is not even attempted (no expectation matches it).
    setup.spool.expect_bury().never();
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 1, buried: 0, stalled: true }));
}

#[tokio::test]
async fn drain_stalls_while_the_account_lookup_is_unavailable() {
    let mut setup = Setup::new().spool_holding(vec![inbound_entry(1), inbound_entry(2)]).stores_nothing();
    setup.accounts.expect_webhook_account().times(1).returning(|_| Err(unavailable()));
    setup.spool.expect_remove().never();
    setup.spool.expect_bury().never();
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 0, buried: 0, stalled: true }));
}

#[tokio::test]
async fn drain_stalls_rather_than_bury_when_the_accounts_token_cannot_be_decrypted() {
    // A key rotation gone wrong is an operator's problem to fix, not a reason to give up on
    // messages that were verified when they arrived.
    let mut setup = Setup::new().spool_holding(vec![inbound_entry(1)]).stores_nothing();
    setup.accounts.expect_webhook_account().times(1).returning(|_| Err(StoreError::Corrupt("token".into())));
    setup.spool.expect_remove().never();
    setup.spool.expect_bury().never();
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 0, buried: 0, stalled: true }));
}

#[tokio::test]
async fn drain_stalls_rather_than_bury_when_the_store_fails_unexpectedly() {
    let mut setup =
        Setup::new().account_found(&[], 1).spool_holding(vec![inbound_entry(1), inbound_entry(2)]);
    setup
        .messages
        .expect_store_inbound()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::Internal("permission denied for table messages".into())));
    setup.spool.expect_remove().never();
    setup.spool.expect_bury().never();
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 0, buried: 0, stalled: true }));
}

#[tokio::test]
async fn drain_buries_entries_that_can_never_be_stored_and_goes_on() {
    let (_, gone) = inbound_entry(1);
    let gone = SpooledWebhook { account_sid: GONE_ACCOUNT_SID.to_owned(), ..gone };
    let (_, foreign_number) = inbound_entry(2);
    let foreign_number = SpooledWebhook {
        fields: Fields::inbound("oi").set("MessageSid", sid(2)).set("To", "+5511333334444").pairs(),
        ..foreign_number
    };
    let (_, rejected) = inbound_entry(3);
    let entries =
        vec![(SpoolSeq(1), gone), (SpoolSeq(2), foreign_number), (SpoolSeq(3), rejected), inbound_entry(4)];

    let mut seq = Sequence::new();
    let mut setup = Setup::new().account_found(&[], 3).spool_holding(entries);
    setup
        .accounts
        .expect_webhook_account()
        .with(eq(domain::AccountSid::parse(GONE_ACCOUNT_SID).unwrap()))
        .times(1)
        .returning(|_| Ok(None));
    // Entries 3 and 4 are one conversation's (replayed in order), 1 and 2 each their own; the
    // burials follow the replays, in arrival order.
    setup
        .messages
        .expect_store_inbound()
        .withf(|_, message, _, _| message.provider_sid == Some(sid(3)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Err(StoreError::Rejected("lifetime exhausted".into())));
    let setup = setup
        .replaying(4, &mut seq)
        .burying(1, "no longer active", &mut seq)
        .burying(2, "`To`", &mut seq)
        .burying(3, "lifetime exhausted", &mut seq)
        .removing(&[4], &mut seq);
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 1, buried: 3, stalled: false }));
}

#[tokio::test]
async fn a_failing_spool_fails_the_drain() {
    let mut setup = Setup::new().stores_nothing();
    setup.spool.expect_oldest().times(1).returning(|_| Err(SpoolError::Storage("corrupt file".into())));
    setup.accounts.expect_webhook_account().never();
    let result = setup.drain().await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn a_spooled_status_callback_keeps_the_message_id_of_its_url_and_replays_with_it() {
    let id = domain::MessageId::from_uuid(uuid::Uuid::from_u128(0x5e));
    let fields = Fields::status("delivered");
    let entry = SpooledWebhook { message_id: Some(id), ..spooled(SpooledKind::Status, &fields) };
    let setup = pushing(database_down(SpooledKind::Status), entry.clone(), Ok(SpoolSeq(3)));
    let webhook = services::SignedWebhook {
        url: format!("{STATUS_URL}&message_id={id}"),
        signature: Some(SIGNATURE.to_owned()),
        fields: fields.pairs(),
    };
    assert_eq!(setup.service().receive_status(webhook).await, Ok(Receipt::Spooled));

    let mut setup = Setup::new().account_found(&[], 1).spool_holding(vec![(SpoolSeq(3), entry)]);
    setup
        .messages
        .expect_apply_delivery_status()
        .with(eq(owner_id()), eq(Some(id)), eq(MESSAGE_SID.to_owned()), always(), always(), eq(now()))
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(DeliveryUpdate::UnknownSid));
    let mut seq = Sequence::new();
    let setup = setup.removing(&[3], &mut seq);
    assert_eq!(setup.drain().await, Ok(DrainReport { replayed: 1, buried: 0, stalled: false }));
}
