//! Shared test data: a fixed clock, a principal per role, sample conversations, messages and
//! accounts.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::{
    AccountSid, ApiKeyId, Channel, Conversation, ConversationId, ConversationStatus, DeliveryStatus, Feature,
    FeatureId, FeatureName, LifecycleSettings, Media, Message, MessageBody, MessageDirection, MessageId,
    MessageOwner, MessageType, NewConversation, OwnerId, PhoneNumber, Principal, TwilioAccount,
    TwilioAccountId, UserId, UserRole,
};
use ports::{MockClock, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

/// The fixed "now" of every test.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap()
}

/// A clock stuck at [`now`].
pub fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    Arc::new(clock)
}

/// The configured limits of every test.
pub fn default_limits() -> domain::TenantLimits {
    domain::TenantLimits {
        tenant_rate: domain::RateLimit { per_minute: 600, burst: 100 },
        key_rate: domain::RateLimit { per_minute: 300, burst: 50 },
        sends: domain::SendQuota { per_day: Some(1_000), per_month: Some(20_000) },
    }
}

/// The tenant of every test.
pub fn owner_id() -> OwnerId {
    OwnerId::from_uuid(Uuid::from_u128(0x0a))
}

/// The acting user.
pub fn user_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x0b))
}

/// A principal of the tenant with `role`.
pub fn principal(role: UserRole) -> Principal {
    Principal {
        owner_id: owner_id(),
        user_id: user_id(),
        api_key_id: ApiKeyId::from_uuid(Uuid::from_u128(0x0c)),
        role,
    }
}

/// Viewer, agent and admin principals.
pub fn viewer() -> Principal {
    principal(UserRole::Viewer)
}

/// An agent.
pub fn agent() -> Principal {
    principal(UserRole::Agent)
}

/// An admin.
pub fn admin() -> Principal {
    principal(UserRole::Admin)
}

/// The customer's number.
pub const CUSTOMER: &str = "+5511999998888";
/// The tenant's number.
pub const BUSINESS: &str = "+14155238886";

/// A phone number.
pub fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).unwrap()
}

/// An active conversation on `channel`, opened an hour ago, whose customer last wrote ten
/// minutes ago.
pub fn conversation(channel: Channel) -> Conversation {
    let opened = now() - Duration::hours(1);
    let new = NewConversation {
        channel,
        customer_phone: phone(CUSTOMER),
        business_phone: phone(BUSINESS),
        context: json!({}),
        metadata: json!({}),
    };
    let mut conversation = Conversation::open(owner_id(), new, &LifecycleSettings::default(), opened);
    conversation.status = ConversationStatus::Progress;
    conversation.last_inbound_at = Some(now() - Duration::minutes(10));
    conversation.last_message_at = conversation.last_inbound_at;
    conversation.message_count = 1;
    conversation
}

/// The same conversation in the final state `status`.
pub fn closed(mut conversation: Conversation, status: ConversationStatus) -> Conversation {
    conversation.status = status;
    conversation.closed_at = Some(now());
    conversation.close_reason = Some("closed".to_owned());
    conversation
}

/// A message of `conversation` by `sender`, stored at `at`.
pub fn message(conversation: &Conversation, sender: MessageOwner, body: &str, at: DateTime<Utc>) -> Message {
    let inbound = sender == MessageOwner::User;
    Message {
        id: MessageId::new_at(at),
        owner_id: conversation.owner_id,
        conversation_id: conversation.id,
        direction: if inbound { MessageDirection::Inbound } else { MessageDirection::Outbound },
        sender,
        message_type: MessageType::Text,
        body: Some(MessageBody::new(body).unwrap()),
        media: vec![],
        template: None,
        context: json!({}),
        metadata: json!({}),
        provider_sid: None,
        delivery_status: if inbound { DeliveryStatus::Received } else { DeliveryStatus::Queued },
        error_code: None,
        error_message: None,
        created_at: at,
        updated_at: at,
    }
}

/// An attachment.
pub fn media(url: &str, content_type: &str) -> Media {
    Media { url: url.to_owned(), content_type: Some(content_type.to_owned()) }
}

/// A valid Account SID.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
/// A valid auth token.
pub const AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The tenant's Twilio account, owning the business number on SMS and WhatsApp.
pub fn account() -> TwilioAccount {
    TwilioAccount {
        id: TwilioAccountId::from_uuid(Uuid::from_u128(0x0d)),
        owner_id: owner_id(),
        account_sid: AccountSid::parse(ACCOUNT_SID).unwrap(),
        friendly_name: Some("main".to_owned()),
        phone_numbers: vec![BUSINESS.to_owned(), format!("whatsapp:{BUSINESS}")],
        messaging_service_sid: None,
        active: true,
        created_at: now(),
        updated_at: now(),
    }
}

/// A feature of the tenant.
pub fn feature(name: &str, enabled: bool, config: Value) -> Feature {
    Feature {
        id: FeatureId::new_at(now()),
        owner_id: owner_id(),
        name: FeatureName::parse(name).unwrap(),
        enabled,
        config,
        created_at: now(),
        updated_at: now(),
    }
}

/// The error of a store that cannot be reached.
pub fn unavailable() -> StoreError {
    StoreError::Unavailable("connection refused".to_owned())
}

/// An id that is not the tenant's.
pub fn conversation_id() -> ConversationId {
    ConversationId::from_uuid(Uuid::from_u128(0x0e))
}

/// Asserts `result` failed with [`services::ServiceError::Invalid`] naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, services::ServiceError>, field: &str) {
    match result {
        Err(services::ServiceError::Invalid { field: actual, .. }) if actual == field => {}
        other => panic!("expected Invalid {{ field: {field:?} }}, got {other:?}"),
    }
}

/// Asserts `result` failed with [`services::ServiceError::Forbidden`] requiring `role`.
#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, services::ServiceError>, role: UserRole) {
    match result {
        Err(services::ServiceError::Forbidden { required }) if required == role => {}
        other => panic!("expected Forbidden {{ required: {role} }}, got {other:?}"),
    }
}
