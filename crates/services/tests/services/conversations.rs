use std::sync::Arc;

use chrono::Duration;
use domain::{Channel, Conversation, ConversationStatus, FeatureName, UserRole};
use mockall::predicate::eq;
use ports::{ConversationFilter, MockConversationStore, MockFeatureStore, Page, PageRequest, StoreError};
use serde_json::json;
use services::{ConversationService, CreateConversation, ServiceError};

use crate::fixtures::*;

struct Setup {
    conversations: MockConversationStore,
    features: MockFeatureStore,
}

impl Setup {
    fn new() -> Self {
        Self { conversations: MockConversationStore::new(), features: MockFeatureStore::new() }
    }

    /// The tenant has no features: default settings.
    fn with_default_features(mut self) -> Self {
        self.features.expect_list_features().with(eq(owner_id())).times(1).returning(|_| Ok(vec![]));
        self
    }

    fn service(self) -> ConversationService {
        ConversationService {
            conversations: Arc::new(self.conversations),
            features: Arc::new(self.features),
            clock: clock(),
        }
    }
}

fn create(customer: &str, business: &str) -> CreateConversation {
    CreateConversation {
        customer_phone: customer.to_owned(),
        business_phone: business.to_owned(),
        channel: None,
        context: None,
        metadata: None,
    }
}

/// Expects one `open_or_get_active` whose candidate satisfies `check`, answering with it.
fn expect_open(setup: &mut Setup, check: impl Fn(&Conversation) -> bool + Send + 'static) {
    setup
        .conversations
        .expect_open_or_get_active()
        .withf(move |candidate| check(candidate))
        .times(1)
        .returning(|candidate| Ok((candidate, true)));
}

#[tokio::test]
async fn create_opens_a_conversation_under_the_tenants_lifecycle() {
    let mut setup = Setup::new();
    setup.features.expect_list_features().with(eq(owner_id())).times(1).returning(|_| {
        Ok(vec![feature(FeatureName::CONVERSATION_LIFECYCLE, true, json!({"ttl_seconds": 3600}))])
    });
    expect_open(&mut setup, |c| {
        c.owner_id == owner_id()
            && c.channel == Channel::Sms
            && c.customer_phone == phone(CUSTOMER)
            && c.business_phone == phone(BUSINESS)
            && c.status == ConversationStatus::Pending
            && c.expires_at == now() + Duration::hours(1)
            && c.context == json!({"order": 42})
            && c.metadata == json!({})
    });
    let input = CreateConversation { context: Some(json!({"order": 42})), ..create(CUSTOMER, BUSINESS) };
    let opened = setup.service().create_or_get(&agent(), input).await.unwrap();
    assert!(opened.created);
    assert_eq!(opened.conversation.customer_phone, phone(CUSTOMER));
}

#[tokio::test]
async fn create_returns_the_active_conversation_when_one_exists() {
    let mut setup = Setup::new().with_default_features();
    let existing = conversation(Channel::Sms);
    let returned = existing.clone();
    setup.conversations.expect_open_or_get_active().times(1).return_once(move |_| Ok((returned, false)));
    let opened = setup.service().create_or_get(&admin(), create(CUSTOMER, BUSINESS)).await.unwrap();
    assert_eq!((opened.conversation, opened.created), (existing, false));
}

#[tokio::test]
async fn a_whatsapp_prefix_on_either_number_makes_a_whatsapp_conversation() {
    for (customer, business) in [
        (format!("whatsapp:{CUSTOMER}"), BUSINESS.to_owned()),
        (CUSTOMER.to_owned(), format!("whatsapp:{BUSINESS}")),
    ] {
        let mut setup = Setup::new().with_default_features();
        expect_open(&mut setup, |c| c.channel == Channel::Whatsapp && c.business_phone == phone(BUSINESS));
        setup.service().create_or_get(&agent(), create(&customer, &business)).await.unwrap();
    }
}

#[tokio::test]
async fn an_explicit_channel_is_used_for_bare_numbers() {
    let mut setup = Setup::new().with_default_features();
    expect_open(&mut setup, |c| c.channel == Channel::Whatsapp);
    let input = CreateConversation { channel: Some(Channel::Whatsapp), ..create(CUSTOMER, BUSINESS) };
    setup.service().create_or_get(&agent(), input).await.unwrap();
}

#[tokio::test]
async fn create_refuses_bad_input_before_touching_the_stores() {
    let bad_json = json!(["not", "an", "object"]);
    let cases = [
        (create("5511999998888", BUSINESS), "customer_phone"),
        (create(CUSTOMER, "telegram:+14155238886"), "business_phone"),
        (
            CreateConversation {
                channel: Some(Channel::Sms),
                ..create(&format!("whatsapp:{CUSTOMER}"), BUSINESS)
            },
            "customer_phone",
        ),
        (
            CreateConversation {
                channel: Some(Channel::Sms),
                ..create(CUSTOMER, &format!("whatsapp:{BUSINESS}"))
            },
            "business_phone",
        ),
        (CreateConversation { context: Some(bad_json.clone()), ..create(CUSTOMER, BUSINESS) }, "context"),
        (CreateConversation { metadata: Some(json!("text")), ..create(CUSTOMER, BUSINESS) }, "metadata"),
    ];
    for (input, field) in cases {
        let mut setup = Setup::new();
        setup.features.expect_list_features().never();
        setup.conversations.expect_open_or_get_active().never();
        assert_invalid(setup.service().create_or_get(&agent(), input).await, field);
    }
}

#[tokio::test]
async fn viewers_cannot_open_conversations() {
    let mut setup = Setup::new();
    setup.features.expect_list_features().never();
    setup.conversations.expect_open_or_get_active().never();
    assert_forbidden(
        setup.service().create_or_get(&viewer(), create(CUSTOMER, BUSINESS)).await,
        UserRole::Agent,
    );
}

#[tokio::test]
async fn create_reports_store_failures() {
    let mut setup = Setup::new();
    setup.features.expect_list_features().times(1).returning(|_| Err(unavailable()));
    setup.conversations.expect_open_or_get_active().never();
    let result = setup.service().create_or_get(&agent(), create(CUSTOMER, BUSINESS)).await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");

    let mut setup = Setup::new().with_default_features();
    setup.conversations.expect_open_or_get_active().times(1).returning(|_| Err(unavailable()));
    let result = setup.service().create_or_get(&agent(), create(CUSTOMER, BUSINESS)).await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn get_reads_the_tenants_conversation() {
    let stored = conversation(Channel::Sms);
    let id = stored.id;
    let mut setup = Setup::new();
    let returned = stored.clone();
    setup
        .conversations
        .expect_get_conversation()
        .with(eq(owner_id()), eq(id))
        .times(1)
        .return_once(|_, _| Ok(returned));
    assert_eq!(setup.service().get(&viewer(), id).await.unwrap(), stored);

    let mut setup = Setup::new();
    setup.conversations.expect_get_conversation().times(1).returning(|_, _| Err(StoreError::NotFound));
    assert_eq!(setup.service().get(&viewer(), conversation_id()).await, Err(ServiceError::NotFound));
}

#[tokio::test]
async fn list_defaults_to_the_active_statuses() {
    let page = PageRequest::first(20);
    for (asked, expected) in [
        (None, ConversationStatus::ACTIVE.to_vec()),
        (Some(vec![]), ConversationStatus::ACTIVE.to_vec()),
        (Some(vec![ConversationStatus::Expired]), vec![ConversationStatus::Expired]),
    ] {
        let mut setup = Setup::new();
        setup
            .conversations
            .expect_list_conversations()
            .with(eq(owner_id()), eq(ConversationFilter { statuses: expected }), eq(page))
            .times(1)
            .returning(|_, _, _| Ok(Page { items: vec![conversation(Channel::Sms)], next_cursor: None }));
        let listed = setup.service().list(&viewer(), asked, page).await.unwrap();
        assert_eq!(listed.items.len(), 1);
    }
}

#[tokio::test]
async fn list_reports_store_failures() {
    let mut setup = Setup::new();
    setup.conversations.expect_list_conversations().times(1).returning(|_, _, _| Err(unavailable()));
    let result = setup.service().list(&viewer(), None, PageRequest::first(5)).await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))));
}

fn expect_close(setup: &mut Setup, status: ConversationStatus, reason: &'static str) {
    setup
        .conversations
        .expect_close_conversation()
        .with(eq(owner_id()), eq(conversation_id()), eq(status), eq(reason.to_owned()), eq(now()))
        .times(1)
        .returning(move |_, _, status, _, _| Ok(closed(conversation(Channel::Sms), status)));
}

#[tokio::test]
async fn close_defaults_to_agent_closed_and_trims_the_reason() {
    let mut setup = Setup::new();
    expect_close(&mut setup, ConversationStatus::AgentClosed, "resolved");
    let closed = setup.service().close(&agent(), conversation_id(), None, "  resolved ").await.unwrap();
    assert_eq!(closed.status, ConversationStatus::AgentClosed);
}

#[tokio::test]
async fn close_accepts_the_closing_statuses_people_may_set() {
    for status in [
        ConversationStatus::AgentClosed,
        ConversationStatus::SupportClosed,
        ConversationStatus::UserClosed,
        ConversationStatus::Failed,
    ] {
        let mut setup = Setup::new();
        expect_close(&mut setup, status, "done");
        setup.service().close(&agent(), conversation_id(), Some(status), "done").await.unwrap();
    }
}

#[tokio::test]
async fn close_refuses_bad_input() {
    let at_limit = "x".repeat(services::MAX_CLOSE_REASON_CHARS);
    let too_long = "x".repeat(services::MAX_CLOSE_REASON_CHARS + 1);
    let cases = [
        (Some(ConversationStatus::Progress), "done", "status"),
        (Some(ConversationStatus::Pending), "done", "status"),
        (Some(ConversationStatus::Expired), "done", "status"),
        (Some(ConversationStatus::IdleTimeout), "done", "status"),
        (None, "   ", "reason"),
        (None, too_long.as_str(), "reason"),
    ];
    for (status, reason, field) in cases {
        let mut setup = Setup::new();
        setup.conversations.expect_close_conversation().never();
        assert_invalid(setup.service().close(&agent(), conversation_id(), status, reason).await, field);
    }
    let mut setup = Setup::new();
    setup
        .conversations
        .expect_close_conversation()
        .times(1)
        .returning(|_, _, status, _, _| Ok(closed(conversation(Channel::Sms), status)));
    setup.service().close(&agent(), conversation_id(), None, &at_limit).await.unwrap();
}

#[tokio::test]
async fn close_is_for_agents_and_maps_store_refusals() {
    let mut setup = Setup::new();
    setup.conversations.expect_close_conversation().never();
    assert_forbidden(
        setup.service().close(&viewer(), conversation_id(), None, "done").await,
        UserRole::Agent,
    );

    for (error, expected) in [
        (StoreError::NotFound, ServiceError::NotFound),
        (
            StoreError::ConversationClosed(ConversationStatus::Expired),
            ServiceError::ConversationClosed(ConversationStatus::Expired),
        ),
    ] {
        let mut setup = Setup::new();
        setup.conversations.expect_close_conversation().times(1).return_once(move |_, _, _, _, _| Err(error));
        assert_eq!(setup.service().close(&agent(), conversation_id(), None, "done").await, Err(expected));
    }
}

#[tokio::test]
async fn extend_passes_the_seconds_to_the_store() {
    let mut setup = Setup::new();
    setup
        .conversations
        .expect_extend_conversation()
        .with(eq(owner_id()), eq(conversation_id()), eq(600_i64), eq(now()))
        .times(1)
        .returning(|_, _, _, _| Ok(conversation(Channel::Sms)));
    setup.service().extend(&agent(), conversation_id(), 600).await.unwrap();
}

#[tokio::test]
async fn extend_refuses_non_positive_seconds_and_viewers() {
    for seconds in [0, -60] {
        let mut setup = Setup::new();
        setup.conversations.expect_extend_conversation().never();
        assert_invalid(setup.service().extend(&agent(), conversation_id(), seconds).await, "seconds");
    }
    let mut setup = Setup::new();
    setup.conversations.expect_extend_conversation().never();
    assert_forbidden(setup.service().extend(&viewer(), conversation_id(), 60).await, UserRole::Agent);
}

#[tokio::test]
async fn extend_maps_lifecycle_refusals() {
    for (error, expected) in [
        (
            StoreError::Rejected("lifetime exhausted".into()),
            ServiceError::Rejected("lifetime exhausted".into()),
        ),
        (
            StoreError::ConversationClosed(ConversationStatus::UserClosed),
            ServiceError::ConversationClosed(ConversationStatus::UserClosed),
        ),
        (StoreError::NotFound, ServiceError::NotFound),
    ] {
        let mut setup = Setup::new();
        setup.conversations.expect_extend_conversation().times(1).return_once(move |_, _, _, _| Err(error));
        assert_eq!(setup.service().extend(&agent(), conversation_id(), 60).await, Err(expected));
    }
}
