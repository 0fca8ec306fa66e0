//! Outbound delivery and the lifecycle sweep against a real database: the dispatcher sends
//! queued messages to a fake Twilio (wiremock, every call counted with `.expect`), retries
//! temporary failures after the backoff, gives up on refusals and after the last attempt, and
//! loses nothing when a worker dies holding a lease; the sweeper closes expired and idle
//! conversations. Time is a test clock moved by hand, so no test sleeps through a delay.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use adapters_twilio::{TwilioConfig, TwilioGateway};
use base64::Engine as _;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use domain::RetryPolicy;
use ports::{Clock, Jitter, Pause, SendQueue};
use serde_json::{Value, json};
use services::{DispatchReport, LifecycleSweeper, OutboundDispatcher, SweepReport};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use crate::support::*;

const CALLBACK: &str = "http://localhost:8080/webhooks/twilio/status";

/// A clock that only moves when told to.
pub(crate) struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    /// Now, at the database's precision, so stored times compare as the dispatcher sees them.
    pub(crate) fn starting_now() -> Arc<Self> {
        Arc::new(Self(Mutex::new(Utc::now().trunc_subsecs(6))))
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Always the whole backoff: a retry is due exactly `base × 2^(attempt-1)` later.
struct FullJitter;

impl Jitter for FullJitter {
    fn sample(&self) -> f64 {
        1.0
    }
}

/// Recording an accepted send again at once: the tests count attempts, not wait for them.
struct NoPause;

#[async_trait::async_trait]
impl Pause for NoPause {
    async fn pause(&self, _: StdDuration) {}
}

/// A tenant with a Twilio account owning [`BUSINESS`] and an open conversation with customer 1.
struct Setup {
    app: TestApp,
    key: String,
    admin_id: String,
    sid: String,
    token: String,
    conversation: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let body =
        json!({"account_sid": account_sid(1), "auth_token": auth_token(1), "phone_numbers": [BUSINESS]});
    app.post("/api/v1/twilio-accounts", &tenant.admin_key, &body).await.expect(201);
    let conversation = text(&app.conversation(&tenant.admin_key, 1).await["id"]);
    Setup {
        app,
        key: tenant.admin_key,
        admin_id: tenant.admin_id,
        sid: account_sid(1),
        token: auth_token(1),
        conversation,
    }
}

impl Setup {
    /// Queues an outbound message; its id.
    async fn queue(&self, body: &str) -> String {
        let message = self.app.message(&self.key, &self.conversation, body).await;
        assert_eq!(message["delivery_status"], "queued", "{message}");
        text(&message["id"])
    }

    /// The message as the API shows it.
    async fn stored(&self, id: &str) -> Value {
        self.app.get(&format!("/api/v1/messages/{id}"), &self.key).await.expect(200)
    }

    /// Twilio's Create Message endpoint for this tenant's account.
    fn create_message(&self) -> MockBuilder {
        Mock::given(method("POST")).and(path(format!("/2010-04-01/Accounts/{}/Messages.json", self.sid)))
    }

    /// A dispatcher over the app's store, sending to `fake` with a 300 ms request timeout.
    fn dispatcher(
        &self,
        fake: &MockServer,
        clock: &Arc<TestClock>,
        policy: RetryPolicy,
    ) -> OutboundDispatcher {
        let gateway = TwilioGateway::new(&TwilioConfig {
            api_base_url: fake.uri(),
            status_callback_url: Some(CALLBACK.to_owned()),
            connect_timeout: StdDuration::from_millis(300),
            request_timeout: StdDuration::from_millis(300),
        })
        .unwrap();
        OutboundDispatcher {
            queue: Arc::new(self.app.state.store.clone()),
            gateway: Arc::new(gateway),
            clock: clock.clone(),
            jitter: Arc::new(FullJitter),
            pause: Arc::new(NoPause),
            policy,
            lease: Duration::seconds(60),
            batch_size: 10,
        }
    }
}

/// Retries after 1 s, then 2 s, 4 s… for 5 attempts in all.
fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 5, base_delay_ms: 1_000, max_delay_ms: 60_000 }
}

/// Twilio's answer to a created message.
fn created(sid: &str, status: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"sid": sid, "status": status}))
}

/// Twilio's error document.
fn twilio_error(status: u16, code: u32, message: &str) -> ResponseTemplate {
    let more_info = format!("https://www.twilio.com/docs/errors/{code}");
    ResponseTemplate::new(status)
        .set_body_json(json!({"code": code, "message": message, "more_info": more_info, "status": status}))
}

/// A request's form, in order.
fn form_of(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

fn report(sent: usize, retried: usize, failed: usize) -> DispatchReport {
    DispatchReport { sent, retried, failed, ..DispatchReport::default() }
}

#[actix_web::test]
async fn a_message_is_sent_with_exactly_twilios_form_fields_and_the_tenants_basic_auth() {
    let s = setup().await;
    let id = s.queue("Seu pedido saiu para entrega & chega hoje").await;
    let expected_form: Vec<(String, String)> = [
        ("To", customer(1)),
        ("From", BUSINESS.to_owned()),
        ("Body", "Seu pedido saiu para entrega & chega hoje".to_owned()),
        // The callback names the message: a status that arrives before the SID is stored
        // still finds it.
        ("StatusCallback", format!("{CALLBACK}?message_id={id}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.sid, s.token));
    let authorization = format!("Basic {credentials}");
    let fake = MockServer::start().await;
    let form = expected_form.clone();
    s.create_message()
        .and(header("authorization", authorization.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(move |request: &Request| form_of(request) == form)
        .respond_with(created("SMexact1", "queued"))
        .expect(1)
        .mount(&fake)
        .await;

    let clock = TestClock::starting_now();
    let dispatcher = s.dispatcher(&fake, &clock, policy());
    assert_eq!(dispatcher.run_once().await.unwrap(), report(1, 0, 0));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "sent once");

    let requests = fake.received_requests().await.unwrap();
    assert_eq!(form_of(&requests[0]), expected_form);
    assert_eq!(requests[0].headers.get("authorization").unwrap().to_str().unwrap(), authorization);
    let stored = s.stored(&id).await;
    assert_eq!(stored["provider_sid"], "SMexact1", "{stored}");
    assert_eq!(stored["delivery_status"], "queued", "{stored}");
    assert_eq!(stored["error_code"], Value::Null, "{stored}");
    fake.verify().await;
}

/// One temporary failure (`failure`), then Twilio takes the message: the first run schedules a
/// retry one backoff later, nothing is sent before it, and the run at it sends.
async fn retried_after_the_backoff(failure: ResponseTemplate) {
    let s = setup().await;
    let id = s.queue("Seu pedido saiu para entrega").await;
    let fake = MockServer::start().await;
    s.create_message().respond_with(failure).up_to_n_times(1).expect(1).mount(&fake).await;
    s.create_message().respond_with(created("SMretry1", "sent")).expect(1).mount(&fake).await;

    let clock = TestClock::starting_now();
    let dispatcher = s.dispatcher(&fake, &clock, policy());
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 1, 0));
    let stored = s.stored(&id).await;
    assert_eq!(stored["delivery_status"], "queued", "{stored}");
    assert_eq!(stored["provider_sid"], Value::Null, "{stored}");

    clock.advance(Duration::milliseconds(999));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "the backoff is not over");
    clock.advance(Duration::milliseconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(1, 0, 0));
    clock.advance(Duration::hours(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "sent once");

    let stored = s.stored(&id).await;
    assert_eq!(stored["delivery_status"], "sent", "{stored}");
    assert_eq!(stored["provider_sid"], "SMretry1", "{stored}");
    assert_eq!(fake.received_requests().await.unwrap().len(), 2);
    fake.verify().await;
}

#[actix_web::test]
async fn a_500_is_retried_after_the_backoff() {
    retried_after_the_backoff(twilio_error(500, 20500, "Internal Server Error")).await;
}

#[actix_web::test]
async fn a_429_is_retried_after_the_backoff() {
    retried_after_the_backoff(twilio_error(429, 20429, "Too Many Requests")).await;
}

#[actix_web::test]
async fn a_timeout_is_retried_after_the_backoff() {
    // Longer than the gateway's 300 ms request timeout.
    retried_after_the_backoff(created("SMtooLate", "queued").set_delay(StdDuration::from_secs(2))).await;
}

#[actix_web::test]
async fn a_refused_message_fails_at_once_with_twilios_code_and_is_never_retried() {
    let s = setup().await;
    let id = s.queue("Olá").await;
    let fake = MockServer::start().await;
    let refusal = twilio_error(400, 21211, "The 'To' number +5511987600001 is not a valid phone number.");
    s.create_message().respond_with(refusal).expect(1).mount(&fake).await;

    let clock = TestClock::starting_now();
    let dispatcher = s.dispatcher(&fake, &clock, policy());
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 1));
    for _ in 0..3 {
        clock.advance(Duration::hours(1));
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0));
    }

    let stored = s.stored(&id).await;
    assert_eq!(stored["delivery_status"], "failed", "{stored}");
    assert_eq!(stored["error_code"], 21211, "{stored}");
    assert!(text(&stored["error_message"]).contains("not a valid phone number"), "{stored}");
    assert_eq!(stored["provider_sid"], Value::Null, "{stored}");
    fake.verify().await;
}

#[actix_web::test]
async fn a_message_fails_after_the_last_attempt() {
    let s = setup().await;
    let id = s.queue("Olá").await;
    let fake = MockServer::start().await;
    s.create_message()
        .respond_with(twilio_error(503, 20503, "Service Unavailable"))
        .expect(3)
        .mount(&fake)
        .await;

    let clock = TestClock::starting_now();
    let policy = RetryPolicy { max_attempts: 3, ..policy() };
    let dispatcher = s.dispatcher(&fake, &clock, policy);
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 1, 0), "attempt 1");
    clock.advance(Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 1, 0), "attempt 2");
    assert_eq!(s.stored(&id).await["delivery_status"], "queued");
    clock.advance(Duration::seconds(2));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 1), "attempt 3, the last");
    for _ in 0..3 {
        clock.advance(Duration::hours(1));
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0));
    }

    let stored = s.stored(&id).await;
    assert_eq!(stored["delivery_status"], "failed", "{stored}");
    assert_eq!(stored["error_code"], Value::Null, "{stored}");
    assert!(text(&stored["error_message"]).contains("503"), "{stored}");
    assert_eq!(fake.received_requests().await.unwrap().len(), 3);
    fake.verify().await;
}

/// Twilio's status callback for `message_id` (at the URL the dispatcher gave Twilio, which
/// names the message), signed with the tenant's token; the outcome the service answered.
async fn callback(s: &Setup, message_id: &str, sid: &str, status: &str) -> Value {
    let fields =
        crate::webhooks::form(&[("AccountSid", &s.sid), ("MessageSid", sid), ("MessageStatus", status)]);
    let path = format!("/webhooks/twilio/status?message_id={message_id}");
    crate::webhooks::post_signed(&s.app, &path, &s.token, &fields).await.expect(200)["outcome"].clone()
}

#[actix_web::test]
async fn jobs_claimed_by_a_worker_that_died_are_sent_once_after_its_lease() {
    let s = setup().await;
    let bodies: Vec<String> = (1..=5).map(|n| format!("Mensagem {n}")).collect();
    let mut ids = Vec::new();
    for body in &bodies {
        ids.push(s.queue(body).await);
    }
    let fake = MockServer::start().await;
    let count = AtomicUsize::new(0);
    // Only the three messages Twilio never had: the other two it took before the worker died.
    s.create_message()
        .respond_with(move |_: &Request| {
            created(&format!("SMlease{}", count.fetch_add(1, Ordering::SeqCst)), "queued")
        })
        .expect(3)
        .mount(&fake)
        .await;

    // A worker claims every job for 60 s, hands the first two to Twilio and dies before
    // recording anything; Twilio's callbacks for those two (their URLs name the messages)
    // arrive and record the SIDs.
    let clock = TestClock::starting_now();
    let claimed = SendQueue::claim_due(&s.app.state.store, clock.now(), 10, Duration::seconds(60)).await;
    assert_eq!(claimed.unwrap().len(), 5);
    assert_eq!(callback(&s, &ids[0], "SMdied0", "sent").await, "advanced");
    assert_eq!(callback(&s, &ids[1], "SMdied1", "delivered").await, "advanced");

    let dispatcher = s.dispatcher(&fake, &clock, policy());
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "the lease holds");
    clock.advance(Duration::seconds(59));
    assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "the lease still holds");
    clock.advance(Duration::seconds(1));
    assert_eq!(
        dispatcher.run_once().await.unwrap(),
        DispatchReport { sent: 3, already_accepted: 2, ..DispatchReport::default() },
        "the lease lapsed: what Twilio has is not sent again"
    );
    for _ in 0..2 {
        clock.advance(Duration::minutes(5));
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "sent once");
    }

    let mut sent: Vec<String> = fake
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| form_of(request).into_iter().find(|(k, _)| k == "Body").unwrap().1)
        .collect();
    sent.sort();
    assert_eq!(sent, bodies[2..], "each message exactly once");
    let mut sids = Vec::new();
    for id in &ids {
        sids.push(text(&s.stored(id).await["provider_sid"]));
    }
    assert_eq!(sids[..2], ["SMdied0", "SMdied1"]);
    assert_eq!(s.stored(&ids[1]).await["delivery_status"], "delivered", "the dispatcher moved nothing back");
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 5, "{sids:?}");
    fake.verify().await;
}

#[actix_web::test]
async fn a_database_error_after_twilio_accepted_is_recorded_again_and_never_sent_again() {
    let s = setup().await;
    let id = s.queue("Seu pedido saiu para entrega").await;
    // The first two attempts to record Twilio's SID fail as a busy database does (serialization
    // failure): a sequence counts them, since the failing transactions roll back.
    s.app
        .execute_as_owner(
            "CREATE SEQUENCE record_failures;
             GRANT USAGE ON SEQUENCE record_failures TO conversa_app;
             CREATE FUNCTION fail_first_records() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.provider_sid IS DISTINCT FROM OLD.provider_sid AND nextval('record_failures') <= 2 THEN
                     RAISE EXCEPTION 'injected' USING ERRCODE = '40001';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER fail_first_records BEFORE UPDATE ON messages
                 FOR EACH ROW EXECUTE FUNCTION fail_first_records();",
        )
        .await;
    let fake = MockServer::start().await;
    s.create_message().respond_with(created("SMonce01", "queued")).expect(1).mount(&fake).await;

    let clock = TestClock::starting_now();
    let dispatcher = s.dispatcher(&fake, &clock, policy());
    assert_eq!(dispatcher.run_once().await.unwrap(), report(1, 0, 0), "recorded on the third try");
    for _ in 0..3 {
        clock.advance(Duration::minutes(5));
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "not sent again");
    }
    let stored = s.stored(&id).await;
    assert_eq!(
        (stored["provider_sid"].as_str(), stored["delivery_status"].as_str()),
        (Some("SMonce01"), Some("queued"))
    );
    fake.verify().await;
}

#[actix_web::test]
async fn a_deactivated_tenant_or_twilio_account_sends_nothing_and_its_messages_fail_saying_so() {
    for (deactivate, reason) in [
        (
            "UPDATE owners SET active = false WHERE id = (SELECT owner_id FROM users WHERE id = '{admin}')",
            "the tenant is deactivated".to_owned(),
        ),
        (
            "UPDATE twilio_accounts SET active = false WHERE owner_id = (SELECT owner_id FROM users WHERE id = '{admin}')",
            format!("the Twilio account {} that owns {BUSINESS} is deactivated", account_sid(1)),
        ),
    ] {
        let s = setup().await;
        let id = s.queue("Olá").await;
        s.app.execute_as_owner(&deactivate.replace("{admin}", &s.admin_id)).await;
        let fake = MockServer::start().await;
        s.create_message().respond_with(created("SMnever", "queued")).expect(0).mount(&fake).await;

        let clock = TestClock::starting_now();
        let dispatcher = s.dispatcher(&fake, &clock, policy());
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 1));
        clock.advance(Duration::hours(1));
        assert_eq!(dispatcher.run_once().await.unwrap(), report(0, 0, 0), "the job ended");

        // A deactivated tenant's keys are refused: read the message back once it is active again.
        let reactivate =
            "UPDATE owners SET active = true WHERE id = (SELECT owner_id FROM users WHERE id = '{admin}')";
        s.app.execute_as_owner(&reactivate.replace("{admin}", &s.admin_id)).await;
        let stored = s.stored(&id).await;
        assert_eq!(stored["delivery_status"], "failed", "{stored}");
        assert!(text(&stored["error_message"]).contains(&reason), "{reason}: {stored}");
        assert_eq!(stored["provider_sid"], Value::Null, "{stored}");
        fake.verify().await;
    }
}

#[actix_web::test]
async fn a_callback_that_beats_the_dispatchers_record_is_applied_and_not_undone() {
    let s = setup().await;
    let id = s.queue("Seu pedido saiu para entrega").await;
    // Twilio takes the message but answers the dispatcher only when the test says so (the fake
    // waits on its own thread); its callback comes first, at the StatusCallback URL it was given.
    let (answer, answered) = std::sync::mpsc::channel::<()>();
    let answered = Mutex::new(answered);
    let (took, mut taken) = tokio::sync::mpsc::unbounded_channel::<Vec<(String, String)>>();
    let fake = MockServer::start().await;
    s.create_message()
        .respond_with(move |request: &Request| {
            let _ = took.send(form_of(request));
            let _ = answered.lock().unwrap().recv_timeout(StdDuration::from_secs(20));
            created("SMrace01", "queued")
        })
        .expect(1)
        .mount(&fake)
        .await;
    let clock = TestClock::starting_now();
    let gateway = TwilioGateway::new(&TwilioConfig {
        api_base_url: fake.uri(),
        status_callback_url: Some(CALLBACK.to_owned()),
        connect_timeout: StdDuration::from_secs(5),
        request_timeout: StdDuration::from_secs(30),
    })
    .unwrap();
    let dispatcher =
        OutboundDispatcher { gateway: Arc::new(gateway), ..s.dispatcher(&fake, &clock, policy()) };
    let dispatching = actix_web::rt::spawn(async move { dispatcher.run_once().await });

    let form = taken.recv().await.expect("the dispatcher called Twilio");
    let callback_url = form.into_iter().find(|(k, _)| k == "StatusCallback").unwrap().1;
    assert_eq!(callback_url, format!("{CALLBACK}?message_id={id}"));
    let fields = crate::webhooks::form(&[
        ("AccountSid", &s.sid),
        ("MessageSid", "SMrace01"),
        ("MessageStatus", "delivered"),
    ]);
    let path = callback_url.trim_start_matches(crate::webhooks::PUBLIC);
    let outcome = crate::webhooks::post_signed(&s.app, path, &s.token, &fields).await.expect(200);
    assert_eq!(outcome["outcome"], "advanced", "applied before the SID is stored");
    // The old URL, without the id, still works by SID now that it is stored.
    let by_sid = crate::webhooks::post_signed(&s.app, "/webhooks/twilio/status", &s.token, &fields).await;
    assert_eq!(by_sid.expect(200)["outcome"], "unchanged");

    answer.send(()).unwrap();
    assert_eq!(dispatching.await.unwrap().unwrap(), report(1, 0, 0));
    let stored = s.stored(&id).await;
    assert_eq!(
        (stored["provider_sid"].as_str(), stored["delivery_status"].as_str()),
        (Some("SMrace01"), Some("delivered")),
        "Twilio's `queued` to the dispatcher does not undo the callback's `delivered`"
    );
    fake.verify().await;
}

#[actix_web::test]
async fn the_sweeper_closes_idle_and_expired_conversations_and_leaves_fresh_ones() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    // Each conversation keeps the settings it was opened under.
    let lifecycle = |ttl: u32, idle: u32| {
        let config = json!({"ttl_seconds": ttl, "idle_timeout_seconds": idle,
            "max_extension_seconds": 60, "max_lifetime_seconds": 3600});
        json!({"enabled": true, "config": config})
    };
    let path = "/api/v1/features/conversation_lifecycle";
    // Idle after 30 s, expired after 60 s: the idle deadline comes first.
    app.put(path, &key, &lifecycle(60, 30)).await.expect(200);
    let idle = text(&app.conversation(&key, 1).await["id"]);
    // Idle only after 10 min: it expires at 60 s, whatever is said in it.
    app.put(path, &key, &lifecycle(60, 600)).await.expect(200);
    let expiring = text(&app.conversation(&key, 2).await["id"]);
    app.message(&key, &expiring, "Ainda está aí?").await;
    app.put(path, &key, &lifecycle(3600, 600)).await.expect(200);
    let fresh = text(&app.conversation(&key, 3).await["id"]);
    let get = |id: String| {
        let app = &app;
        let key = &key;
        async move { app.get(&format!("/api/v1/conversations/{id}"), key).await.expect(200) }
    };

    let clock = TestClock::starting_now();
    let store = Arc::new(app.state.store.clone());
    let sweeper = LifecycleSweeper {
        conversations: store.clone(),
        messages: store.clone(),
        features: store,
        clock: clock.clone(),
        batch_size: 10,
    };
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport::default(), "nothing is due yet");

    clock.advance(Duration::seconds(40));
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport { idle: 1, ..SweepReport::default() });
    let closed = get(idle.clone()).await;
    assert_eq!(closed["status"], "idle_timeout", "{closed}");
    assert_eq!(closed["close_reason"], "no message for 30 seconds", "{closed}");
    assert!(closed["closed_at"].is_string(), "{closed}");
    for id in [&expiring, &fresh] {
        let open = get(id.clone()).await;
        assert!(["pending", "progress"].contains(&open["status"].as_str().unwrap()), "{open}");
    }

    clock.advance(Duration::seconds(30));
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport { expired: 1, ..SweepReport::default() });
    let expired = get(expiring).await;
    assert_eq!(expired["status"], "expired", "{expired}");
    assert_eq!(expired["close_reason"], "expired", "{expired}");
    assert!(expired["closed_at"].is_string(), "{expired}");
    assert_eq!(get(idle).await["status"], "idle_timeout", "a closed conversation stays closed");
    let open = get(fresh).await;
    assert!(["pending", "progress"].contains(&open["status"].as_str().unwrap()), "{open}");
    assert_eq!(open["close_reason"], Value::Null, "{open}");
    assert_eq!(sweeper.run_once().await.unwrap(), SweepReport::default(), "nothing more is due");
}
