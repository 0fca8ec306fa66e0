//! Fixtures shared by the integration tests: a store over a fresh test database, tenants,
//! Twilio accounts, conversation candidates and messages, all at fixed times.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration as StdDuration;

use adapters_postgres::{PgStore, PoolSettings, Sha256ApiKeys, TokenCipher, build_pool};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{
    ApiKey, Channel, Conversation, DeliveryStatus, Email, LifecycleSettings, MessageBody, MessageDirection,
    MessageOwner, MessageType, NewApiKey, NewConversation, NewMessage, NewOwner, NewTwilioAccount, NewUser,
    Owner, OwnerId, PhoneNumber, TwilioAccount, User, UserId, UserRole,
};
use ports::{ApiKeyIssuer, IssuedApiKey, NewOwnerWithAdmin, TenantDirectory, TwilioAccountStore};
use serde_json::json;
use test_db::TestDb;

/// The token encryption key of [`store`].
pub const CIPHER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The business number every fixture conversation is opened on (SMS).
pub const BUSINESS: &str = "+5511940000001";

/// A fixed instant (whole seconds: PostgreSQL keeps microseconds, so values round-trip exactly).
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).single().expect("a valid instant")
}

/// `base_time() + seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    base_time() + Duration::seconds(seconds)
}

pub fn cipher() -> TokenCipher {
    TokenCipher::from_hex(CIPHER_KEY).expect("a valid key")
}

/// A store connected as the application role, like the service.
pub fn store(db: &TestDb) -> PgStore {
    store_with(&db.app_url(), cipher())
}

pub fn store_with(url: &str, cipher: TokenCipher) -> PgStore {
    let mut settings = PoolSettings::new(url);
    settings.max_size = 24;
    settings.acquire_timeout = StdDuration::from_secs(20);
    PgStore::new(build_pool(&settings).expect("pool settings are valid"), cipher)
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("a valid email")
}

pub fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("a valid phone number")
}

/// The `n`-th customer number of the fixtures.
pub fn customer(n: usize) -> String {
    format!("+55119876{n:05}")
}

/// A tenant created through [`TenantDirectory::create_owner`], with its admin's key.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub owner: Owner,
    pub admin: User,
    pub api_key: ApiKey,
    pub key: IssuedApiKey,
}

impl Tenant {
    pub fn id(&self) -> OwnerId {
        self.owner.id
    }
}

/// The input creating the tenant `label` (`label@example.com`, admin `admin@label.example`).
pub fn new_owner(label: &str, key: &IssuedApiKey) -> NewOwnerWithAdmin {
    NewOwnerWithAdmin {
        owner: NewOwner { name: format!("Tenant {label}"), email: email(&format!("{label}@example.com")) },
        admin: NewUser {
            name: format!("Admin {label}"),
            email: email(&format!("admin@{label}.example")),
            role: UserRole::Admin,
        },
        api_key: NewApiKey {
            user_id: UserId::new_at(base_time()),
            name: "first".to_owned(),
            prefix: key.prefix.clone(),
            hash: key.hash.clone(),
        },
    }
}

pub async fn create_tenant(store: &PgStore, label: &str) -> Tenant {
    let key = Sha256ApiKeys.issue();
    let created = store.create_owner(new_owner(label, &key), base_time()).await.expect("tenant created");
    Tenant { owner: created.owner, admin: created.admin, api_key: created.api_key, key }
}

/// An Account SID made of `n` (`AC` and 32 hex digits).
pub fn account_sid(n: u32) -> String {
    format!("AC{n:032x}")
}

/// An auth token made of `n` (32 hex digits).
pub fn auth_token(n: u32) -> String {
    format!("{:032x}", 0xabcd_0000_u64 + u64::from(n))
}

pub fn new_account(n: u32, numbers: &[&str]) -> NewTwilioAccount {
    let numbers: Vec<String> = numbers.iter().map(|n| (*n).to_owned()).collect();
    NewTwilioAccount::parse(&account_sid(n), &auth_token(n), Some(format!("account {n}")), &numbers)
        .expect("a valid account")
}

pub async fn create_account(store: &PgStore, owner_id: OwnerId, n: u32, numbers: &[&str]) -> TwilioAccount {
    store
        .create_twilio_account(owner_id, new_account(n, numbers), base_time())
        .await
        .expect("account created")
}

/// Lifecycle settings in seconds: time to live, idle timeout (extensions of up to a day, a week
/// of lifetime at most).
pub fn lifecycle(ttl: u32, idle: u32) -> LifecycleSettings {
    LifecycleSettings {
        ttl_seconds: ttl,
        idle_timeout_seconds: idle,
        max_extension_seconds: 24 * 3600,
        max_lifetime_seconds: 7 * 24 * 3600,
    }
}

/// A candidate SMS conversation between `customer` and [`BUSINESS`], opened at `opened_at`
/// under the default lifecycle settings.
pub fn candidate(owner_id: OwnerId, customer: &str, opened_at: DateTime<Utc>) -> Conversation {
    candidate_with(owner_id, customer, &LifecycleSettings::default(), opened_at)
}

pub fn candidate_with(
    owner_id: OwnerId,
    customer: &str,
    settings: &LifecycleSettings,
    opened_at: DateTime<Utc>,
) -> Conversation {
    let new = NewConversation {
        channel: Channel::Sms,
        customer_phone: phone(customer),
        business_phone: phone(BUSINESS),
        context: json!({"topic": "fixture"}),
        metadata: json!({}),
    };
    Conversation::open(owner_id, new, settings, opened_at)
}

/// A text message from the customer with Twilio MessageSid `sid`.
pub fn inbound(sid: &str, body: &str) -> NewMessage {
    NewMessage {
        direction: MessageDirection::Inbound,
        sender: MessageOwner::User,
        message_type: MessageType::Text,
        body: Some(MessageBody::new(body).expect("a valid body")),
        media: Vec::new(),
        template: None,
        context: json!({}),
        metadata: json!({"ProfileName": "Cliente"}),
        provider_sid: Some(sid.to_owned()),
        delivery_status: DeliveryStatus::Received,
    }
}

/// An agent's text message, not yet handed to the provider.
pub fn outbound(body: &str) -> NewMessage {
    NewMessage::outbound(MessageOwner::Agent, Some(MessageBody::new(body).expect("a valid body")), Vec::new())
        .expect("a valid message")
}

/// A MessageSid made of `n`.
pub fn message_sid(n: usize) -> String {
    format!("SM{n:032x}")
}

/// `SELECT count(*) AS count …` on a given connection.
#[derive(QueryableByName, Debug)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

pub async fn count_on(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}")).count
}

/// Runs `sql` as the schema owner (setup that bypasses the ports); the number of rows affected.
pub async fn exec_as_owner(db: &TestDb, sql: &str) -> usize {
    let mut conn = db.owner_connection().await;
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Fans out the tenant's events, claims one delivery and records a failed attempt of it.
pub async fn deliver_once(store: &PgStore, owner_id: OwnerId) -> ports::ClaimedDelivery {
    use ports::WebhookDeliveryQueue;
    assert!(fan_out_until(store, 1).await >= 1, "a delivery was created");
    let now = Utc::now();
    let claims = store.claim_deliveries(now, 100, 4, chrono::Duration::seconds(60)).await.unwrap();
    let claim = claims.into_iter().find(|c| c.owner_id == owner_id).expect("a claim of the tenant");
    let attempt = domain::WebhookAttempt {
        number: claim.attempt,
        attempted_at: now,
        status_code: Some(500),
        error: None,
        latency_ms: 12,
        response_excerpt: Some("oops".into()),
        next_attempt_at: Some(now + chrono::Duration::seconds(5)),
    };
    let record = ports::AttemptRecord {
        attempt,
        outcome: domain::AttemptOutcome::HttpError { status: 500 },
        next: ports::DeliveryNext::RetryAt(now + chrono::Duration::seconds(5)),
        disable_after_failures: 20,
    };
    let recorded = store.record_attempt(&claim, record).await.unwrap();
    assert_eq!(recorded, ports::AttemptRecorded::Recorded { disabled: None });
    claim
}

/// Fans out until at least `expected` deliveries were created (at most 10 s): an event becomes
/// readable once every older transaction of the cluster ended, and parallel tests write too.
pub async fn fan_out_until(store: &PgStore, expected: u64) -> u64 {
    use ports::WebhookDeliveryQueue;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    let mut created = 0;
    while created < expected && std::time::Instant::now() < deadline {
        created += store.fan_out_events(Utc::now(), 100).await.unwrap();
        if created < expected {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }
    created
}
