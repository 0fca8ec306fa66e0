use std::sync::Arc;

use chrono::Duration;
use domain::{
    AiResult, AiResultId, Channel, ConversationStatus, DeliveryStatus, Feature, Message, MessageBody,
    MessageDirection, MessageOwner, MessageType, NewAiResult, QuotaPeriod, SendQuota, UserRole,
};
use mockall::predicate::eq;
use ports::{
    AppendedMessage, MockConversationStore, MockFeatureStore, MockMessageStore, Page, PageRequest, StoreError,
};
use serde_json::json;
use services::{AddMessage, LimitService, MessageService, ServiceError, TemplateInput};

use crate::fixtures::*;

struct Setup {
    conversations: MockConversationStore,
    messages: MockMessageStore,
    /// The tenant's features, read for its send quota.
    features: MockFeatureStore,
}

impl Setup {
    fn new() -> Self {
        Self {
            conversations: MockConversationStore::new(),
            messages: MockMessageStore::new(),
            features: MockFeatureStore::new(),
        }
    }

    /// `get_conversation` answers with `conversation`; the tenant has no `limits` feature.
    fn with_conversation(self, conversation: domain::Conversation) -> Self {
        self.with_conversation_and_features(conversation, vec![])
    }

    /// `get_conversation` answers with `conversation`, `list_features` with `features`.
    fn with_conversation_and_features(
        mut self,
        conversation: domain::Conversation,
        features: Vec<Feature>,
    ) -> Self {
        self.conversations
            .expect_get_conversation()
            .with(eq(owner_id()), eq(conversation_id()))
            .times(1)
            .return_once(move |_, _| Ok(conversation));
        self.features.expect_list_features().with(eq(owner_id())).returning(move |_| Ok(features.clone()));
        self
    }

    /// Nothing may be read or written.
    fn untouched(mut self) -> Self {
        self.conversations.expect_get_conversation().never();
        self.messages.expect_append_message().never();
        self
    }

    fn service(self) -> MessageService {
        let messages = Arc::new(self.messages);
        let limits = LimitService::new(
            Arc::new(self.features),
            messages.clone(),
            clock(),
            default_limits(),
            Duration::seconds(5),
        );
        MessageService { conversations: Arc::new(self.conversations), messages, clock: clock(), limits }
    }
}

fn text(body: &str) -> AddMessage {
    AddMessage { body: Some(body.to_owned()), ..AddMessage::default() }
}

/// Answers `append_message` with the message as it would be stored.
fn appended(message: &domain::NewMessage) -> AppendedMessage {
    let conversation = conversation(Channel::Sms);
    let mut stored = crate::fixtures::message(&conversation, message.sender, "stored", now());
    stored.body.clone_from(&message.body);
    AppendedMessage { message: stored, conversation }
}

#[tokio::test]
async fn add_message_queues_an_agents_message_for_sending() {
    let mut setup = Setup::new().with_conversation(conversation(Channel::Sms));
    setup
        .messages
        .expect_append_message()
        .withf(|owner, id, message, enqueue, at| {
            *owner == owner_id()
                && *id == conversation_id()
                && message.direction == MessageDirection::Outbound
                && message.sender == MessageOwner::Agent
                && message.body == Some(MessageBody::new("Olá!").unwrap())
                && message.delivery_status == DeliveryStatus::Queued
                && message.context == json!({"ticket": 7})
                && message.metadata == json!({})
                && *enqueue == Some(default_limits().sends)
                && *at == now()
        })
        .times(1)
        .returning(|_, _, message, _, _| Ok(appended(&message)));
    let input = AddMessage { context: Some(json!({"ticket": 7})), ..text("Olá!") };
    let result = setup.service().add_message(&agent(), conversation_id(), input).await.unwrap();
    assert_eq!(result.message.sender, MessageOwner::Agent);
}

#[tokio::test]
async fn every_business_sender_is_delivered_to_the_customer() {
    for sender in [MessageOwner::Support, MessageOwner::System, MessageOwner::Tool] {
        let mut setup = Setup::new().with_conversation(conversation(Channel::Sms));
        setup
            .messages
            .expect_append_message()
            .withf(move |_, _, message, enqueue, _| message.sender == sender && enqueue.is_some())
            .times(1)
            .returning(|_, _, message, _, _| Ok(appended(&message)));
        let input = AddMessage { sender: Some(sender), ..text("ok") };
        setup.service().add_message(&agent(), conversation_id(), input).await.unwrap();
    }
}

#[tokio::test]
async fn media_only_messages_take_their_type_from_the_attachment() {
    let mut setup = Setup::new().with_conversation(conversation(Channel::Sms));
    setup
        .messages
        .expect_append_message()
        .withf(|_, _, message, _, _| message.body.is_none() && message.message_type == MessageType::Image)
        .times(1)
        .returning(|_, _, message, _, _| Ok(appended(&message)));
    let input =
        AddMessage { media: vec![media("https://cdn.example/a.png", "image/png")], ..AddMessage::default() };
    setup.service().add_message(&agent(), conversation_id(), input).await.unwrap();
}

#[tokio::test]
async fn add_message_refuses_bad_input_before_touching_the_stores() {
    let cases = [
        (AddMessage { sender: Some(MessageOwner::User), ..text("hi") }, "sender"),
        (text("   "), "body"),
        (text(&"a".repeat(MessageBody::MAX_CHARS + 1)), "body"),
        (AddMessage::default(), "body"),
        (AddMessage { media: vec![media("ftp://x/a.png", "image/png")], ..AddMessage::default() }, "media"),
        (
            AddMessage { media: vec![media("https://x/a.png", "image/png"); 11], ..AddMessage::default() },
            "media",
        ),
        (AddMessage { context: Some(json!(1)), ..text("hi") }, "context"),
        (AddMessage { metadata: Some(json!([])), ..text("hi") }, "metadata"),
    ];
    for (input, field) in cases {
        let setup = Setup::new().untouched();
        assert_invalid(setup.service().add_message(&agent(), conversation_id(), input).await, field);
    }
}

#[tokio::test]
async fn viewers_cannot_write_messages() {
    let setup = Setup::new().untouched();
    assert_forbidden(
        setup.service().add_message(&viewer(), conversation_id(), text("hi")).await,
        UserRole::Agent,
    );
}

#[tokio::test]
async fn whatsapp_refuses_free_form_messages_outside_the_24_hour_window() {
    let mut stale = conversation(Channel::Whatsapp);
    stale.last_inbound_at = Some(now() - Duration::hours(25));
    let mut never_wrote = conversation(Channel::Whatsapp);
    never_wrote.last_inbound_at = None;
    for conversation in [stale, never_wrote] {
        let mut setup = Setup::new().with_conversation(conversation);
        setup.messages.expect_append_message().never();
        let result = setup.service().add_message(&agent(), conversation_id(), text("hi")).await;
        assert!(
            matches!(result, Err(ServiceError::Rejected(ref why)) if why.contains("24 hours") && why.contains("template")),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn whatsapp_accepts_messages_inside_the_window() {
    let mut setup = Setup::new().with_conversation(conversation(Channel::Whatsapp));
    setup.messages.expect_append_message().times(1).returning(|_, _, message, _, _| Ok(appended(&message)));
    setup.service().add_message(&agent(), conversation_id(), text("hi")).await.unwrap();
}

#[tokio::test]
async fn add_message_refuses_closed_and_unknown_conversations() {
    let mut setup =
        Setup::new().with_conversation(closed(conversation(Channel::Sms), ConversationStatus::IdleTimeout));
    setup.messages.expect_append_message().never();
    let result = setup.service().add_message(&agent(), conversation_id(), text("hi")).await;
    assert_eq!(result, Err(ServiceError::ConversationClosed(ConversationStatus::IdleTimeout)));

    let mut setup = Setup::new();
    setup.conversations.expect_get_conversation().times(1).returning(|_, _| Err(StoreError::NotFound));
    setup.messages.expect_append_message().never();
    let result = setup.service().add_message(&agent(), conversation_id(), text("hi")).await;
    assert_eq!(result, Err(ServiceError::NotFound));
}

#[tokio::test]
async fn add_message_reports_a_close_that_raced_it() {
    let mut setup = Setup::new().with_conversation(conversation(Channel::Sms));
    setup
        .messages
        .expect_append_message()
        .times(1)
        .returning(|_, _, _, _, _| Err(StoreError::ConversationClosed(ConversationStatus::AgentClosed)));
    let result = setup.service().add_message(&agent(), conversation_id(), text("hi")).await;
    assert_eq!(result, Err(ServiceError::ConversationClosed(ConversationStatus::AgentClosed)));
}

const CONTENT_SID: &str = "HX0123456789abcdef0123456789abcdef";

fn template(variables: &[(&str, &str)]) -> AddMessage {
    let variables = variables.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    AddMessage {
        template: Some(TemplateInput { content_sid: CONTENT_SID.to_owned(), variables }),
        ..AddMessage::default()
    }
}

#[tokio::test]
async fn a_template_is_sent_outside_whatsapps_window_and_stored_with_its_variables() {
    let mut stale = conversation(Channel::Whatsapp);
    stale.last_inbound_at = Some(now() - Duration::hours(25));
    let mut setup = Setup::new().with_conversation(stale);
    setup
        .messages
        .expect_append_message()
        .withf(|_, _, message, send, _| {
            let template = message.template.as_ref().expect("a template");
            template.content_sid.as_str() == CONTENT_SID
                && template.variables.get("1").map(String::as_str) == Some("Maria")
                && message.body.is_none()
                && message.media.is_empty()
                && send.is_some()
        })
        .times(1)
        .returning(|_, _, message, _, _| Ok(appended(&message)));
    setup.service().add_message(&agent(), conversation_id(), template(&[("1", "Maria")])).await.unwrap();
}

#[tokio::test]
async fn a_template_is_validated_and_carries_no_body_or_media() {
    let bad_sid = AddMessage {
        template: Some(TemplateInput { content_sid: "HX12".to_owned(), ..TemplateInput::default() }),
        ..AddMessage::default()
    };
    let cases = [
        (bad_sid, "template.content_sid"),
        (template(&[("1", "")]), "template.variables"),
        (template(&[("not a name", "x")]), "template.variables"),
        (AddMessage { body: Some("oi".to_owned()), ..template(&[("1", "Maria")]) }, "template"),
        (AddMessage { media: vec![media("https://x/a.png", "image/png")], ..template(&[]) }, "template"),
    ];
    for (input, field) in cases {
        let setup = Setup::new().untouched();
        assert_invalid(setup.service().add_message(&agent(), conversation_id(), input).await, field);
    }
}

#[tokio::test]
async fn the_send_quota_of_the_limits_feature_goes_with_the_message() {
    let limits = feature("limits", true, json!({"sends_per_day": 2, "sends_per_month": null}));
    let mut setup = Setup::new().with_conversation_and_features(conversation(Channel::Sms), vec![limits]);
    setup
        .messages
        .expect_append_message()
        .withf(|_, _, _, send, _| *send == Some(SendQuota { per_day: Some(2), per_month: None }))
        .times(1)
        .returning(|_, _, message, _, _| Ok(appended(&message)));
    setup.service().add_message(&agent(), conversation_id(), text("oi")).await.unwrap();
}

#[tokio::test]
async fn a_used_up_quota_is_reported_with_its_reset_time() {
    let resets_at = QuotaPeriod::Day.resets_at(now());
    let mut setup = Setup::new().with_conversation(conversation(Channel::Sms));
    setup.messages.expect_append_message().times(1).returning(move |_, _, _, _, _| {
        Err(StoreError::QuotaExceeded { period: QuotaPeriod::Day, limit: 3, resets_at })
    });
    let result = setup.service().add_message(&agent(), conversation_id(), text("oi")).await;
    assert_eq!(
        result,
        Err(ServiceError::SendQuotaExceeded { period: QuotaPeriod::Day, limit: 3, resets_at })
    );
    assert_eq!(result.unwrap_err().code(), "send_quota_exceeded");
}

#[tokio::test]
async fn reading_messages_needs_only_a_viewer() {
    let conversation = conversation(Channel::Sms);
    let stored = crate::fixtures::message(&conversation, MessageOwner::User, "oi", now());
    let id = stored.id;
    let page = PageRequest::first(50);
    let mut setup = Setup::new();
    let listed = stored.clone();
    setup
        .messages
        .expect_list_messages()
        .with(eq(owner_id()), eq(conversation_id()), eq(page))
        .times(1)
        .return_once(move |_, _, _| Ok(Page { items: vec![listed], next_cursor: None }));
    let got = stored.clone();
    setup
        .messages
        .expect_get_message()
        .with(eq(owner_id()), eq(id))
        .times(1)
        .return_once(move |_, _| Ok(got));
    let service = setup.service();
    assert_eq!(
        service.list_messages(&viewer(), conversation_id(), page).await.unwrap().items,
        vec![stored.clone()]
    );
    assert_eq!(service.get_message(&viewer(), id).await.unwrap(), stored);

    let mut setup = Setup::new();
    setup.messages.expect_list_messages().times(1).returning(|_, _, _| Err(StoreError::NotFound));
    setup.messages.expect_get_message().times(1).returning(|_, _| Err(StoreError::NotFound));
    let service = setup.service();
    assert_eq!(service.list_messages(&viewer(), conversation_id(), page).await, Err(ServiceError::NotFound));
    assert_eq!(service.get_message(&viewer(), id).await, Err(ServiceError::NotFound));
}

fn ai_input(kind: &str, score: Option<f64>) -> NewAiResult {
    NewAiResult {
        kind: kind.to_owned(),
        model: Some("m1".to_owned()),
        content: json!({"label": "happy"}),
        score,
    }
}

fn ai_result(message: &Message, input: &NewAiResult) -> AiResult {
    AiResult {
        id: AiResultId::new_at(now()),
        owner_id: owner_id(),
        conversation_id: message.conversation_id,
        message_id: message.id,
        kind: input.kind.clone(),
        model: input.model.clone(),
        content: input.content.clone(),
        score: input.score,
        created_at: now(),
    }
}

#[tokio::test]
async fn agents_attach_validated_ai_results() {
    let message = crate::fixtures::message(&conversation(Channel::Sms), MessageOwner::User, "oi", now());
    let id = message.id;
    let mut setup = Setup::new();
    setup
        .messages
        .expect_add_ai_result()
        .with(eq(owner_id()), eq(id), eq(ai_input("sentiment", Some(0.9))), eq(now()))
        .times(1)
        .returning(move |_, _, input, _| Ok(ai_result(&message, &input)));
    let result = setup.service().add_ai_result(&agent(), id, ai_input("sentiment", Some(0.9))).await.unwrap();
    assert_eq!((result.kind.as_str(), result.score), ("sentiment", Some(0.9)));
}

#[tokio::test]
async fn ai_results_are_refused_for_bad_input_viewers_and_unknown_messages() {
    let id = domain::MessageId::new_at(now());
    for (input, field) in [(ai_input(" ", None), "kind"), (ai_input("x", Some(1.2)), "score")] {
        let mut setup = Setup::new();
        setup.messages.expect_add_ai_result().never();
        assert_invalid(setup.service().add_ai_result(&agent(), id, input).await, field);
    }
    let mut setup = Setup::new();
    setup.messages.expect_add_ai_result().never();
    assert_forbidden(
        setup.service().add_ai_result(&viewer(), id, ai_input("x", None)).await,
        UserRole::Agent,
    );

    let mut setup = Setup::new();
    setup.messages.expect_add_ai_result().times(1).returning(|_, _, _, _| Err(StoreError::NotFound));
    assert_eq!(
        setup.service().add_ai_result(&agent(), id, ai_input("x", None)).await,
        Err(ServiceError::NotFound)
    );
}

#[tokio::test]
async fn viewers_list_ai_results() {
    let message = crate::fixtures::message(&conversation(Channel::Sms), MessageOwner::User, "oi", now());
    let id = message.id;
    let expected = vec![ai_result(&message, &ai_input("sentiment", None))];
    let mut setup = Setup::new();
    let listed = expected.clone();
    setup
        .messages
        .expect_list_ai_results()
        .with(eq(owner_id()), eq(id))
        .times(1)
        .return_once(move |_, _| Ok(listed));
    assert_eq!(setup.service().list_ai_results(&viewer(), id).await.unwrap(), expected);
}
