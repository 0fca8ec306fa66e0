use std::sync::Arc;

use chrono::Duration;
use domain::{
    AiResult, AiResultId, Channel, ConversationStatus, DeliveryStatus, Message, MessageBody,
    MessageDirection, MessageOwner, MessageType, NewAiResult, UserRole,
};
use mockall::predicate::eq;
use ports::{AppendedMessage, MockConversationStore, MockMessageStore, Page, PageRequest, StoreError};
use serde_json::json;
use services::{AddMessage, MessageService, ServiceError};

use crate::fixtures::*;

struct Setup {
    conversations: MockConversationStore,
    messages: MockMessageStore,
}

impl Setup {
    fn new() -> Self {
        Self { conversations: MockConversationStore::new(), messages: MockMessageStore::new() }
    }

    /// `get_conversation` answers with `conversation`.
    fn with_conversation(mut self, conversation: domain::Conversation) -> Self {
        self.conversations
            .expect_get_conversation()
            .with(eq(owner_id()), eq(conversation_id()))
            .times(1)
            .return_once(move |_, _| Ok(conversation));
        self
    }

    /// Nothing may be read or written.
    fn untouched(mut self) -> Self {
        self.conversations.expect_get_conversation().never();
        self.messages.expect_append_message().never();
        self
    }

    fn service(self) -> MessageService {
        MessageService {
            conversations: Arc::new(self.conversations),
            messages: Arc::new(self.messages),
            clock: clock(),
        }
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
                && *enqueue
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
            .withf(move |_, _, message, enqueue, _| message.sender == sender && *enqueue)
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
            matches!(result, Err(ServiceError::Rejected(ref why)) if why.contains("24 hours")),
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
