//! A store whose database cannot be reached answers `StoreError::Unavailable` from every port
//! method, quickly, and never panics. No database is needed for this test.

mod support;

use std::time::{Duration as StdDuration, Instant};

use adapters_postgres::{PgStore, PoolSettings, build_pool};
use chrono::Duration;
use domain::{
    AccountSid, ApiKeyId, Channel, ChannelAddress, ConversationId, ConversationStatus, DeliveryStatus,
    FeatureName, FeatureUpdate, MessageId, NewAiResult, NewApiKey, NewUser, OwnerId, SendJob, SendJobId,
    UserId, UserRole,
};
use ports::{
    ClosureVerdict, ConversationFilter, ConversationStore, DeliveryFailure, FeatureStore, MessageStore,
    PageRequest, SendQueue, StoreError, TenantDirectory, TwilioAccountStore, WebhookAccounts,
};
use serde_json::json;
use support::{at, candidate, cipher, customer, email, inbound, new_account, new_owner, outbound, phone};

fn unreachable_store() -> PgStore {
    let mut settings = PoolSettings::new("postgres://conversa_app@127.0.0.1:1/conversa");
    settings.acquire_timeout = StdDuration::from_millis(300);
    settings.connect_timeout = StdDuration::from_millis(300);
    PgStore::new(build_pool(&settings).expect("building the pool does not connect"), cipher())
}

fn assert_unavailable<T: std::fmt::Debug>(method: &str, result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{method}: {result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_port_method_answers_unavailable_when_the_database_is_down() {
    let store = unreachable_store();
    let started = Instant::now();
    let owner = OwnerId::new_at(at(0));
    let conversation = ConversationId::new_at(at(0));
    let message = MessageId::new_at(at(0));
    let feature = FeatureName::parse("auto_reply").unwrap();
    let key = NewApiKey {
        user_id: UserId::new_at(at(0)),
        name: "k".into(),
        prefix: "cnv_".into(),
        hash: "h".into(),
    };
    let user = NewUser { name: "Ana".into(), email: email("ana@example.com"), role: UserRole::Agent };
    let job = SendJob {
        id: SendJobId::new_at(at(0)),
        owner_id: owner,
        conversation_id: conversation,
        message_id: message,
        attempts: 0,
        created_at: at(0),
        lease: domain::SendLease::from(uuid::Uuid::nil()),
    };
    let result = || NewAiResult { kind: "k".into(), model: None, content: json!({}), score: None };
    let business = ChannelAddress::new(Channel::Sms, phone(support::BUSINESS));
    let filter = ConversationFilter { statuses: vec![ConversationStatus::Pending] };

    assert_unavailable("ping", store.ping().await);
    let issued = ports::IssuedApiKey {
        plaintext: domain::SecretString::new("x"),
        prefix: "p".into(),
        hash: "h".into(),
    };
    assert_unavailable("create_owner", store.create_owner(new_owner("acme", &issued), at(0)).await);
    assert_unavailable("get_owner", store.get_owner(owner).await);
    assert_unavailable("create_user", store.create_user(owner, user, at(0)).await);
    assert_unavailable("list_users", store.list_users(owner).await);
    assert_unavailable("get_user", store.get_user(owner, UserId::new_at(at(0))).await);
    assert_unavailable("create_api_key", store.create_api_key(owner, key, at(0)).await);
    assert_unavailable("list_api_keys", store.list_api_keys(owner).await);
    assert_unavailable("revoke_api_key", store.revoke_api_key(owner, ApiKeyId::new_at(at(0)), at(0)).await);
    assert_unavailable("owner_of_user", store.owner_of_user(UserId::new_at(at(0))).await);
    assert_unavailable("authenticate", store.authenticate("h".into(), at(0)).await);

    assert_unavailable("list_features", store.list_features(owner).await);
    assert_unavailable("get_feature", store.get_feature(owner, feature.clone()).await);
    let update = FeatureUpdate { name: feature.clone(), enabled: true, config: json!({}) };
    assert_unavailable("put_feature", store.put_feature(owner, update, at(0)).await);
    assert_unavailable("set_feature_enabled", store.set_feature_enabled(owner, feature, false, at(0)).await);

    assert_unavailable(
        "create_twilio_account",
        store.create_twilio_account(owner, new_account(1, &["+5511940000001"]), at(0)).await,
    );
    assert_unavailable("list_twilio_accounts", store.list_twilio_accounts(owner).await);
    let account = domain::TwilioAccountId::new_at(at(0));
    assert_unavailable("get_twilio_account", store.get_twilio_account(owner, account).await);
    let sid = AccountSid::parse(&support::account_sid(1)).unwrap();
    assert_unavailable("webhook_account", store.webhook_account(&sid).await);
    assert_unavailable("credentials_for_number", store.credentials_for_number(owner, business).await);

    assert_unavailable(
        "open_or_get_active",
        store.open_or_get_active(candidate(owner, &customer(1), at(0))).await,
    );
    assert_unavailable("get_conversation", store.get_conversation(owner, conversation).await);
    assert_unavailable(
        "list_conversations",
        store.list_conversations(owner, filter, PageRequest::first(5)).await,
    );
    let close =
        store.close_conversation(owner, conversation, ConversationStatus::AgentClosed, "x".into(), at(0));
    assert_unavailable("close_conversation", close.await);
    let detected =
        store.close_detected(owner, conversation, verdict(message, false, "x".into(), result()), at(0));
    assert_unavailable("close_detected", detected.await);
    assert_unavailable(
        "extend_conversation",
        store.extend_conversation(owner, conversation, 60, at(0)).await,
    );
    assert_unavailable("sweep_due", store.sweep_due(at(0), 10, chrono::Duration::seconds(60)).await);

    let inbound_message = inbound("SM1", "oi");
    assert_unavailable(
        "store_inbound",
        store.store_inbound(candidate(owner, &customer(1), at(0)), inbound_message, 0, at(0)).await,
    );
    assert_unavailable(
        "append_message",
        store
            .append_message(owner, conversation, outbound("oi"), Some(domain::SendQuota::UNLIMITED), at(0))
            .await,
    );
    assert_unavailable("get_message", store.get_message(owner, message).await);
    assert_unavailable(
        "list_messages",
        store.list_messages(owner, conversation, PageRequest::first(5)).await,
    );
    let status =
        store.apply_delivery_status(owner, Some(message), "SM1".into(), DeliveryStatus::Sent, None, at(0));
    assert_unavailable("apply_delivery_status", status.await);
    assert_unavailable("add_ai_result", store.add_ai_result(owner, message, result(), at(0)).await);
    assert_unavailable("list_ai_results", store.list_ai_results(owner, message).await);

    assert_unavailable("claim_due", store.claim_due(at(0), 10, Duration::minutes(1)).await);
    assert_unavailable(
        "mark_sent",
        store.mark_sent(job.clone(), "SM1".into(), DeliveryStatus::Sent, at(0)).await,
    );
    assert_unavailable("schedule_retry", store.schedule_retry(job.clone(), at(60), "e".into(), at(0)).await);
    let failure = DeliveryFailure { code: Some(1), message: None };
    assert_unavailable("mark_failed", store.mark_failed(job, failure, at(0)).await);
    assert_unavailable("depth", store.depth(at(0)).await);

    assert!(started.elapsed() < StdDuration::from_secs(30), "failures are fast: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_that_cannot_hand_out_a_connection_in_time_is_unavailable() {
    // A listener that accepts connections but never answers: connecting times out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let mut settings = PoolSettings::new(format!("postgres://conversa_app@127.0.0.1:{port}/conversa"));
    settings.acquire_timeout = StdDuration::from_millis(200);
    settings.connect_timeout = StdDuration::from_millis(200);
    let store = PgStore::new(build_pool(&settings).unwrap(), cipher());

    let started = Instant::now();
    assert_unavailable("get_owner", store.get_owner(OwnerId::new_at(at(0))).await);
    assert!(started.elapsed() < StdDuration::from_secs(5), "the timeouts apply: {:?}", started.elapsed());
}

/// A closure verdict on `message_id`.
fn verdict(
    message_id: MessageId,
    confirms_pending: bool,
    reason: String,
    assessment: NewAiResult,
) -> ClosureVerdict {
    ClosureVerdict { message_id, confirms_pending, reason, assessment }
}
