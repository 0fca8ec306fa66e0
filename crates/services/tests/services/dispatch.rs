use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use domain::{
    Channel, ChannelAddress, DeliveryStatus, MessageOwner, RetryDecision, RetryPolicy, SecretString, SendJob,
    SendJobId, SendLease,
};
use mockall::predicate::eq;
use ports::{
    ChannelCredentials, ClaimedSend, Clock, DeliveryFailure, GatewayError, MockJitter, MockMessagingGateway,
    MockPause, MockSendQueue, Recorded, SendReceipt, Unsendable,
};
use services::{DispatchReport, OutboundDispatcher, ServiceError};

use crate::fixtures::*;

const JITTER: f64 = 0.5;

fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, base_delay_ms: 1_000, max_delay_ms: 60_000 }
}

fn lease() -> Duration {
    Duration::seconds(30)
}

struct Setup {
    queue: MockSendQueue,
    gateway: MockMessagingGateway,
    /// Expects no pause unless a test says so: only recording an accepted send waits.
    pause: MockPause,
    lease: Duration,
    clock: Arc<dyn Clock>,
}

impl Setup {
    /// The queue hands out `claims` for one claim with the configured batch and lease.
    fn claiming(claims: Vec<ClaimedSend>) -> Self {
        Self::claiming_for(claims, lease())
    }

    /// [`Setup::claiming`], leasing for `lease`.
    fn claiming_for(claims: Vec<ClaimedSend>, lease: Duration) -> Self {
        let mut queue = MockSendQueue::new();
        queue
            .expect_claim_due()
            .with(eq(now()), eq(10), eq(lease))
            .times(1)
            .return_once(move |_, _, _| Ok(claims));
        Self { queue, gateway: MockMessagingGateway::new(), pause: MockPause::new(), lease, clock: clock() }
    }

    fn dispatcher(self) -> OutboundDispatcher {
        let mut jitter = MockJitter::new();
        jitter.expect_sample().return_const(JITTER);
        OutboundDispatcher {
            queue: Arc::new(self.queue),
            gateway: Arc::new(self.gateway),
            clock: self.clock,
            jitter: Arc::new(jitter),
            pause: Arc::new(self.pause),
            policy: policy(),
            lease: self.lease,
            batch_size: 10,
        }
    }
}

/// A clock at [`now`] for its first `still` readings, then `later` after it.
struct Moving {
    readings: AtomicUsize,
    still: usize,
    later: Duration,
}

impl Clock for Moving {
    fn now(&self) -> DateTime<Utc> {
        if self.readings.fetch_add(1, Ordering::SeqCst) < self.still { now() } else { now() + self.later }
    }
}

/// The token of the claims in these tests.
fn lease_token() -> SendLease {
    SendLease::from(uuid::Uuid::from_u128(0x1ea5e))
}

fn credentials() -> ChannelCredentials {
    ChannelCredentials {
        account: ACCOUNT_SID.to_owned(),
        secret: SecretString::new(AUTH_TOKEN),
        sender_pool: None,
    }
}

fn claim(attempts: u32, with_credentials: bool) -> ClaimedSend {
    let conversation = conversation(Channel::Sms);
    let mut message = message(&conversation, MessageOwner::Agent, "Seu pedido saiu para entrega", now());
    message.media = vec![media("https://cdn.example/nota.pdf", "application/pdf")];
    ClaimedSend {
        job: SendJob {
            id: SendJobId::new_at(now()),
            owner_id: owner_id(),
            conversation_id: conversation.id,
            message_id: message.id,
            attempts,
            created_at: now(),
            lease: lease_token(),
        },
        message,
        from: ChannelAddress::parse(BUSINESS).unwrap(),
        to: ChannelAddress::parse(CUSTOMER).unwrap(),
        credentials: if with_credentials {
            Ok(credentials())
        } else {
            Err(Unsendable::NoAccount { from: BUSINESS.to_owned() })
        },
    }
}

fn receipt() -> SendReceipt {
    SendReceipt { provider_sid: "SM1".to_owned(), status: DeliveryStatus::Queued }
}

#[tokio::test]
async fn sends_the_message_and_records_the_receipt() {
    let claimed = claim(0, true);
    let job = claimed.job.clone();
    let message_id = claimed.message.id;
    let mut setup = Setup::claiming(vec![claimed]);
    setup
        .gateway
        .expect_send()
        .withf(move |envelope| {
            envelope.owner_id == owner_id()
                && envelope.message_id == message_id
                && envelope.from.to_twilio() == BUSINESS
                && envelope.to.to_twilio() == CUSTOMER
                && envelope.body.as_deref() == Some("Seu pedido saiu para entrega")
                && envelope.media_urls == ["https://cdn.example/nota.pdf"]
                && envelope.credentials == credentials()
        })
        .times(1)
        .returning(|_| Ok(receipt()));
    setup
        .queue
        .expect_mark_sent()
        .with(eq(job), eq("SM1".to_owned()), eq(DeliveryStatus::Queued), eq(now()))
        .times(1)
        .returning(|_, _, _, _| Ok(Recorded::Applied));
    setup.queue.expect_schedule_retry().never();
    setup.queue.expect_mark_failed().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { sent: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_temporary_failure_is_retried_with_backoff() {
    let claimed = claim(1, true);
    let job = claimed.job.clone();
    let RetryDecision::RetryAt(retry_at) = policy().after_failure(2, now(), JITTER) else {
        panic!("policy gives up")
    };
    let mut setup = Setup::claiming(vec![claimed]);
    setup
        .gateway
        .expect_send()
        .times(1)
        .returning(|_| Err(GatewayError::Retryable { reason: "HTTP 503".into() }));
    setup
        .queue
        .expect_schedule_retry()
        .with(eq(job), eq(retry_at), eq("HTTP 503".to_owned()), eq(now()))
        .times(1)
        .returning(|_, _, _, _| Ok(Recorded::Applied));
    setup.queue.expect_mark_failed().never();
    setup.queue.expect_mark_sent().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { retried: 1, ..DispatchReport::default() });
    assert_eq!(retry_at, now() + Duration::milliseconds(1_000));
}

#[tokio::test]
async fn the_last_temporary_failure_gives_up() {
    let claimed = claim(policy().max_attempts - 1, true);
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup
        .gateway
        .expect_send()
        .times(1)
        .returning(|_| Err(GatewayError::Retryable { reason: "timeout".into() }));
    setup
        .queue
        .expect_mark_failed()
        .with(eq(job), eq(DeliveryFailure { code: None, message: Some("timeout".into()) }), eq(now()))
        .times(1)
        .returning(|_, _, _| Ok(Recorded::Applied));
    setup.queue.expect_schedule_retry().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_permanent_failure_fails_the_message_at_once() {
    let claimed = claim(0, true);
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup
        .gateway
        .expect_send()
        .times(1)
        .returning(|_| Err(GatewayError::Permanent { code: Some(21_211), reason: "invalid To".into() }));
    setup
        .queue
        .expect_mark_failed()
        .with(
            eq(job),
            eq(DeliveryFailure { code: Some(21_211), message: Some("invalid To".into()) }),
            eq(now()),
        )
        .times(1)
        .returning(|_, _, _| Ok(Recorded::Applied));
    setup.queue.expect_schedule_retry().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn without_credentials_the_message_fails_unsent() {
    let claimed = claim(0, false);
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup.gateway.expect_send().never();
    let failure = DeliveryFailure { code: None, message: Some(format!("no active account owns {BUSINESS}")) };
    setup
        .queue
        .expect_mark_failed()
        .with(eq(job), eq(failure), eq(now()))
        .times(1)
        .returning(|_, _, _| Ok(Recorded::Applied));
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn an_accepted_send_whose_record_keeps_failing_is_recorded_again_never_sent_again_and_does_not_stop_the_others()
 {
    let (first, second) = (claim(0, true), claim(0, true));
    let (first_job, second_job) = (first.job.clone(), second.job.clone());
    let mut setup = Setup::claiming(vec![first, second]);
    setup.gateway.expect_send().times(2).returning(|_| Ok(receipt()));
    // Every attempt the retry policy allows (the clock stands still, so the lease never ends
    // here), each after a pause; the message is not handed to the gateway again.
    setup
        .queue
        .expect_mark_sent()
        .withf(move |job, sid, _, _| *job == first_job && sid == "SM1")
        .times(8)
        .returning(|_, _, _, _| Err(unavailable()));
    setup.pause.expect_pause().times(7).return_const(());
    setup
        .queue
        .expect_mark_sent()
        .withf(move |job, _, _, _| *job == second_job)
        .times(1)
        .returning(|_, _, _, _| Ok(Recorded::Applied));
    setup.queue.expect_schedule_retry().never();
    setup.queue.expect_mark_failed().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { sent: 1, errors: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_database_error_after_the_provider_accepted_is_retried_as_a_record_not_as_a_send() {
    let claimed = claim(0, true);
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup.gateway.expect_send().times(1).returning(|_| Ok(receipt()));
    let failures = AtomicUsize::new(0);
    setup
        .queue
        .expect_mark_sent()
        .with(eq(job), eq("SM1".to_owned()), eq(DeliveryStatus::Queued), eq(now()))
        .times(3)
        .returning(move |_, _, _, _| {
            if failures.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(unavailable())
            } else {
                Ok(Recorded::Applied)
            }
        });
    // Full jitter at 0.5 over 100 ms doubling: 50 ms, then 100 ms.
    let mut seq = mockall::Sequence::new();
    for ms in [50, 100] {
        setup
            .pause
            .expect_pause()
            .with(eq(std::time::Duration::from_millis(ms)))
            .times(1)
            .in_sequence(&mut seq)
            .return_const(());
    }
    setup.queue.expect_schedule_retry().never();
    setup.queue.expect_mark_failed().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { sent: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn recording_an_accepted_send_is_never_retried_past_the_lease() {
    // A lease shorter than the first pause (50 ms): after it the job may be another claim's.
    let lease = Duration::milliseconds(40);
    let mut setup = Setup::claiming_for(vec![claim(0, true)], lease);
    setup.gateway.expect_send().times(1).returning(|_| Ok(receipt()));
    setup.queue.expect_mark_sent().times(1).returning(|_, _, _, _| Err(unavailable()));
    setup.pause.expect_pause().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { errors: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_lease_lost_before_the_record_is_reported_and_neither_retried_nor_resent() {
    let mut setup = Setup::claiming(vec![claim(0, true)]);
    setup.gateway.expect_send().times(1).returning(|_| Ok(receipt()));
    setup.queue.expect_mark_sent().times(1).returning(|_, _, _, _| Ok(Recorded::LeaseLost));
    setup.queue.expect_mark_failed().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { lease_lost: 1, ..DispatchReport::default() });

    let mut setup = Setup::claiming(vec![claim(0, true)]);
    setup.gateway.expect_send().times(1).returning(|_| Err(GatewayError::Retryable { reason: "503".into() }));
    setup.queue.expect_schedule_retry().times(1).returning(|_, _, _, _| Ok(Recorded::LeaseLost));
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { lease_lost: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_message_already_accepted_under_an_earlier_claim_is_finished_without_sending_it_again() {
    let mut claimed = claim(0, true);
    claimed.message.provider_sid = Some("SMearlier".to_owned());
    claimed.message.delivery_status = DeliveryStatus::Delivered;
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup.gateway.expect_send().never();
    setup
        .queue
        .expect_mark_sent()
        .with(eq(job), eq("SMearlier".to_owned()), eq(DeliveryStatus::Delivered), eq(now()))
        .times(1)
        .returning(|_, _, _, _| Ok(Recorded::Applied));
    setup.queue.expect_mark_failed().never();
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { already_accepted: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_deactivated_tenant_or_account_sends_nothing_and_its_job_fails_saying_so() {
    for (why, reason) in [
        (Unsendable::TenantInactive, "not sent: the tenant is deactivated".to_owned()),
        (
            Unsendable::AccountInactive { account: ACCOUNT_SID.to_owned(), from: BUSINESS.to_owned() },
            format!("not sent: the Twilio account {ACCOUNT_SID} that owns {BUSINESS} is deactivated"),
        ),
    ] {
        let mut claimed = claim(0, true);
        claimed.credentials = Err(why);
        let job = claimed.job.clone();
        let mut setup = Setup::claiming(vec![claimed]);
        setup.gateway.expect_send().never();
        let failure = DeliveryFailure { code: None, message: Some(reason) };
        setup
            .queue
            .expect_mark_failed()
            .with(eq(job), eq(failure), eq(now()))
            .times(1)
            .returning(|_, _, _| Ok(Recorded::Applied));
        let report = setup.dispatcher().run_once().await.unwrap();
        assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
    }
}

#[tokio::test]
async fn no_send_starts_once_the_batchs_lease_has_ended() {
    let mut setup = Setup::claiming(vec![claim(0, true), claim(0, true)]);
    // The claim, the first job's check and its record read `now`; the second job's check reads
    // the lease's end.
    setup.clock = Arc::new(Moving { readings: AtomicUsize::new(0), still: 3, later: lease() });
    setup.gateway.expect_send().times(1).returning(|_| Ok(receipt()));
    setup.queue.expect_mark_sent().times(1).returning(|_, _, _, _| Ok(Recorded::Applied));
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { sent: 1, lease_lost: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_provider_id_already_stored_fails_the_message_instead_of_sending_it_again() {
    let claimed = claim(0, true);
    let job = claimed.job.clone();
    let mut setup = Setup::claiming(vec![claimed]);
    setup.gateway.expect_send().times(1).returning(|_| Ok(receipt()));
    setup
        .queue
        .expect_mark_sent()
        .times(1)
        .returning(|_, _, _, _| Err(ports::StoreError::Conflict(ports::ConflictKind::MessageSidTaken)));
    setup
        .queue
        .expect_mark_failed()
        .withf(move |failed, failure, at| {
            *failed == job
                && failure.code.is_none()
                && failure.message.as_deref().is_some_and(|m| m.contains("SM1"))
                && *at == now()
        })
        .times(1)
        .returning(|_, _, _| Ok(Recorded::Applied));
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { failed: 1, ..DispatchReport::default() });
}

#[tokio::test]
async fn store_errors_while_recording_failures_are_counted() {
    let mut setup = Setup::claiming(vec![claim(0, true), claim(0, false)]);
    setup.gateway.expect_send().times(1).returning(|_| Err(GatewayError::Retryable { reason: "503".into() }));
    setup.queue.expect_schedule_retry().times(1).returning(|_, _, _, _| Err(unavailable()));
    setup.queue.expect_mark_failed().times(1).returning(|_, _, _| Err(unavailable()));
    let report = setup.dispatcher().run_once().await.unwrap();
    assert_eq!(report, DispatchReport { errors: 2, ..DispatchReport::default() });
}

#[tokio::test]
async fn a_failed_claim_sends_nothing() {
    let mut queue = MockSendQueue::new();
    queue.expect_claim_due().times(1).returning(|_, _, _| Err(unavailable()));
    let mut setup = Setup {
        queue,
        gateway: MockMessagingGateway::new(),
        pause: MockPause::new(),
        lease: lease(),
        clock: clock(),
    };
    setup.gateway.expect_send().never();
    let result = setup.dispatcher().run_once().await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn an_empty_queue_reports_nothing() {
    let mut setup = Setup::claiming(vec![]);
    setup.gateway.expect_send().never();
    assert_eq!(setup.dispatcher().run_once().await.unwrap(), DispatchReport::default());
}
