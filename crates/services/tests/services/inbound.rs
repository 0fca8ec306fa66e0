use std::sync::Arc;

use chrono::Duration;
use domain::{
    AiResult, AiResultId, CLOSURE_DETECTION_KIND, Channel, Conversation, ConversationStatus, DeliveryStatus,
    FeatureName, Message, MessageDirection, MessageOwner, MessageType, NewMessage, SecretString,
    TwilioCredentials,
};
use ports::{
    DetectedClosure, InboundStored, MockConversationStore, MockMessageStore, MockTwilioAccountStore,
    StoreError, WebhookAccount,
};
use serde_json::{Value, json};
use services::{CLOSURE_MODEL, InboundMessage, InboundOutcome, ServiceError, TwilioWebhookService};

use crate::fixtures::*;

pub struct Setup {
    pub accounts: MockTwilioAccountStore,
    pub conversations: MockConversationStore,
    pub messages: MockMessageStore,
    /// The tenant's features, as `resolve_account` found them with the account.
    pub features: Vec<domain::Feature>,
}

impl Setup {
    pub fn new() -> Self {
        Self {
            accounts: MockTwilioAccountStore::new(),
            conversations: MockConversationStore::new(),
            messages: MockMessageStore::new(),
            features: Vec::new(),
        }
    }

    /// The tenant's features.
    fn with_features(mut self, features: Vec<domain::Feature>) -> Self {
        self.features = features;
        self
    }

    /// `store_inbound` stores the message in `conversation` (or reports it a duplicate).
    fn storing_in(mut self, conversation: Conversation, duplicate: bool) -> Self {
        self.messages.expect_store_inbound().times(1).return_once(move |_, message, _, at| {
            Ok(InboundStored {
                message: stored(&conversation, &message, at),
                conversation,
                conversation_created: false,
                duplicate,
                recent: Vec::new(),
            })
        });
        self
    }

    /// `store_inbound` stores the message in `conversation`, asked for a window of `window`
    /// messages, and returns `turns` as the conversation's latest.
    fn storing_with_window(mut self, conversation: Conversation, window: u32, turns: Vec<Message>) -> Self {
        self.messages
            .expect_store_inbound()
            .withf(move |_, _, asked, _| *asked == window)
            .times(1)
            .return_once(move |_, message, _, at| {
                Ok(InboundStored {
                    message: stored(&conversation, &message, at),
                    conversation,
                    conversation_created: false,
                    duplicate: false,
                    recent: turns,
                })
            });
        self
    }

    /// Neither detection nor closing may happen.
    fn no_detection(mut self) -> Self {
        self.conversations.expect_close_detected().never();
        self
    }

    pub fn service(self) -> TwilioWebhookService {
        TwilioWebhookService {
            accounts: Arc::new(self.accounts),
            conversations: Arc::new(self.conversations),
            messages: Arc::new(self.messages),
            clock: clock(),
        }
    }

    /// Handles `input` as a webhook of the tenant's account.
    pub async fn handle(mut self, input: InboundMessage) -> Result<InboundOutcome, ServiceError> {
        let webhook = webhook_account(std::mem::take(&mut self.features));
        self.service().handle_inbound(&webhook, input).await
    }
}

/// The tenant's account as `resolve_account` finds it, with `features`.
pub fn webhook_account(features: Vec<domain::Feature>) -> WebhookAccount {
    WebhookAccount {
        credentials: TwilioCredentials { account: account(), auth_token: SecretString::new(AUTH_TOKEN) },
        features,
    }
}

/// The id `store_inbound` gives the message.
fn stored_message_id() -> domain::MessageId {
    domain::MessageId::from_uuid(uuid::Uuid::from_u128(0x1f))
}

/// The message `store_inbound` would store.
fn stored(conversation: &Conversation, new: &NewMessage, at: chrono::DateTime<chrono::Utc>) -> Message {
    let mut message = crate::fixtures::message(conversation, MessageOwner::User, "placeholder", at);
    message.id = stored_message_id();
    message.body.clone_from(&new.body);
    message.media.clone_from(&new.media);
    message.message_type = new.message_type;
    message.metadata = new.metadata.clone();
    message.provider_sid.clone_from(&new.provider_sid);
    message
}

fn inbound(body: &str) -> InboundMessage {
    InboundMessage {
        message_sid: "SM0123456789abcdef0123456789abcdef".to_owned(),
        from: CUSTOMER.to_owned(),
        to: BUSINESS.to_owned(),
        body: Some(body.to_owned()),
        ..InboundMessage::default()
    }
}

/// How many turns detection reads when the tenant did not configure it.
fn default_window() -> u32 {
    u32::try_from(domain::closure::ClosureConfig::default().window).unwrap()
}

fn detection_off() -> domain::Feature {
    feature(FeatureName::CLOSURE_DETECTION, false, json!({}))
}

/// A conversation that has just ended: thanks, an offer of more help, a goodbye.
fn goodbye_turns(conversation: &Conversation) -> Vec<Message> {
    let start = now() - Duration::minutes(20);
    vec![
        message(conversation, MessageOwner::User, "Meu pedido chegou, tudo certo", start),
        message(
            conversation,
            MessageOwner::Agent,
            "Que ótimo! Posso ajudar em algo mais?",
            start + Duration::seconds(30),
        ),
        message(conversation, MessageOwner::User, "Não, obrigado! Tchau 👋", start + Duration::seconds(60)),
    ]
}

fn detected(
    conversation: &Conversation,
    message_id: domain::MessageId,
    record: &domain::NewAiResult,
) -> DetectedClosure {
    DetectedClosure {
        conversation: closed(conversation.clone(), ConversationStatus::UserClosed),
        ai_result: AiResult {
            id: AiResultId::new_at(now()),
            owner_id: owner_id(),
            conversation_id: conversation.id,
            message_id,
            kind: record.kind.clone(),
            model: record.model.clone(),
            content: record.content.clone(),
            score: record.score,
            created_at: now(),
        },
    }
}

#[tokio::test]
async fn stores_the_message_in_a_candidate_conversation_and_replies() {
    let mut setup = Setup::new().with_features(vec![
        detection_off(),
        feature(FeatureName::AUTO_REPLY, true, json!({"message": "Recebido!"})),
    ]);
    setup
        .messages
        .expect_store_inbound()
        .withf(|candidate, message, window, at| {
            *window == 0
                && candidate.owner_id == owner_id()
                && candidate.channel == Channel::Sms
                && candidate.customer_phone == phone(CUSTOMER)
                && candidate.business_phone == phone(BUSINESS)
                && candidate.status == ConversationStatus::Pending
                && message.direction == MessageDirection::Inbound
                && message.sender == MessageOwner::User
                && message.body.as_ref().map(domain::MessageBody::as_str) == Some("Oi, tudo bem?")
                && message.provider_sid.as_deref() == Some("SM0123456789abcdef0123456789abcdef")
                && message.delivery_status == DeliveryStatus::Received
                && message.metadata == json!({})
                && *at == now()
        })
        .times(1)
        .returning(|candidate, message, _, at| {
            Ok(InboundStored {
                message: stored(&candidate, &message, at),
                conversation: candidate,
                conversation_created: true,
                duplicate: false,
                recent: Vec::new(),
            })
        });
    let setup = setup.no_detection();
    let outcome = setup.handle(inbound("Oi, tudo bem?")).await.unwrap();
    assert!(outcome.conversation_created && !outcome.duplicate && !outcome.closed);
    assert_eq!((outcome.closure, outcome.auto_reply.as_deref()), (None, Some("Recebido!")));
}

#[tokio::test]
async fn whatsapp_messages_keep_the_profile_in_metadata_and_type_from_media() {
    let mut setup = Setup::new().with_features(vec![detection_off()]);
    setup
        .messages
        .expect_store_inbound()
        .withf(|candidate, message, window, _| {
            *window == 0
                && candidate.channel == Channel::Whatsapp
                && message.body.is_none()
                && message.message_type == MessageType::Audio
                && message.metadata == json!({"profile_name": "Ana", "wa_id": "5511999998888"})
        })
        .times(1)
        .returning(|candidate, message, _, at| {
            Ok(InboundStored {
                message: stored(&candidate, &message, at),
                conversation: candidate,
                conversation_created: true,
                duplicate: false,
                recent: Vec::new(),
            })
        });
    let input = InboundMessage {
        from: format!("whatsapp:{CUSTOMER}"),
        to: format!("whatsapp:{BUSINESS}"),
        body: Some("  ".to_owned()),
        media: vec![media("https://api.twilio.com/media/1", "audio/ogg")],
        profile_name: Some("Ana".to_owned()),
        wa_id: Some("5511999998888".to_owned()),
        ..inbound("")
    };
    let outcome = setup.no_detection().handle(input).await.unwrap();
    assert_eq!(outcome.auto_reply, None);
}

#[tokio::test]
async fn refuses_bad_webhooks_without_storing_anything() {
    let cases = [
        (InboundMessage { message_sid: " ".into(), ..inbound("oi") }, "MessageSid"),
        (
            InboundMessage { message_sid: "S".repeat(services::MAX_MESSAGE_SID_CHARS + 1), ..inbound("oi") },
            "MessageSid",
        ),
        (InboundMessage { from: "not a number".into(), ..inbound("oi") }, "From"),
        (InboundMessage { to: "+1".into(), ..inbound("oi") }, "To"),
        (InboundMessage { to: "+5511333334444".into(), ..inbound("oi") }, "To"),
        (InboundMessage { from: format!("whatsapp:{CUSTOMER}"), ..inbound("oi") }, "From"),
        (InboundMessage { body: None, ..inbound("") }, "Body"),
        (inbound(" \n "), "Body"),
        (inbound(&"a".repeat(domain::MessageBody::MAX_CHARS + 1)), "Body"),
        (
            InboundMessage { media: vec![media("file:///etc/passwd", "image/png")], ..inbound("oi") },
            "MediaUrl",
        ),
    ];
    for (input, field) in cases {
        let mut setup = Setup::new();
        setup.messages.expect_store_inbound().never();
        assert_invalid(setup.no_detection().handle(input).await, field);
    }
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_and_nothing_else_runs() {
    let setup = Setup::new()
        .with_features(vec![feature(FeatureName::AUTO_REPLY, true, json!({"message": "Recebido!"}))])
        .storing_in(conversation(Channel::Sms), true)
        .no_detection();
    let outcome = setup.handle(inbound("oi")).await.unwrap();
    assert!(outcome.duplicate && !outcome.closed);
    assert_eq!((outcome.closure, outcome.auto_reply), (None, None));
}

#[tokio::test]
async fn detection_closes_a_conversation_that_ended() {
    let conversation = conversation(Channel::Sms);
    let turns = goodbye_turns(&conversation);
    let conversation_id = conversation.id;
    let mut setup =
        Setup::new().with_features(vec![]).storing_with_window(conversation.clone(), default_window(), turns);
    setup
        .conversations
        .expect_close_detected()
        .withf(move |owner, id, message_id, reason, record, at| {
            *owner == owner_id()
                && *id == conversation_id
                && *message_id == stored_message_id()
                && !reason.is_empty()
                && record.kind == CLOSURE_DETECTION_KIND
                && record.model.as_deref() == Some(CLOSURE_MODEL)
                && record.score.is_some_and(|score| (0.0..=1.0).contains(&score))
                && record.content.get("should_close") == Some(&Value::Bool(true))
                && *at == now()
        })
        .times(1)
        .returning(move |_, _, message_id, _, record, _| Ok(detected(&conversation, message_id, &record)));
    let outcome = setup.handle(inbound("Não, obrigado! Tchau 👋")).await.unwrap();
    assert!(outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::UserClosed);
    assert!(outcome.closure.is_some_and(|assessment| assessment.should_close));
}

#[tokio::test]
async fn an_ongoing_conversation_is_assessed_but_left_open() {
    let conversation = conversation(Channel::Sms);
    let turns = vec![message(&conversation, MessageOwner::User, "Oi, quando chega meu pedido 123?", now())];
    let setup =
        Setup::new().with_features(vec![]).storing_with_window(conversation.clone(), default_window(), turns);
    let mut setup = setup;
    setup.conversations.expect_close_detected().never();
    let outcome = setup.handle(inbound("Oi, quando chega meu pedido 123?")).await.unwrap();
    assert!(!outcome.closed);
    assert!(outcome.closure.is_some_and(|assessment| !assessment.should_close));
}

#[tokio::test]
async fn a_close_that_raced_detection_is_not_an_error() {
    let conversation = conversation(Channel::Sms);
    let turns = goodbye_turns(&conversation);
    let mut setup =
        Setup::new().with_features(vec![]).storing_with_window(conversation.clone(), default_window(), turns);
    setup
        .conversations
        .expect_close_detected()
        .times(1)
        .returning(|_, _, _, _, _, _| Err(StoreError::ConversationClosed(ConversationStatus::IdleTimeout)));
    let outcome = setup.handle(inbound("Tchau")).await.unwrap();
    assert!(!outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
    assert!(outcome.closure.is_some_and(|assessment| assessment.should_close));
}

#[tokio::test]
async fn a_failing_detection_keeps_the_stored_message_acknowledged() {
    let conversation = conversation(Channel::Sms);
    let turns = goodbye_turns(&conversation);
    let mut setup =
        Setup::new().with_features(vec![]).storing_with_window(conversation.clone(), default_window(), turns);
    setup.conversations.expect_close_detected().times(1).returning(|_, _, _, _, _, _| Err(unavailable()));
    let outcome = setup.handle(inbound("Tchau")).await.unwrap();
    assert!(!outcome.duplicate && !outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
}

#[tokio::test]
async fn detection_uses_the_tenants_window_and_skips_closed_conversations() {
    let conversation = conversation(Channel::Sms);
    let config = json!({"window": 12});
    let setup = Setup::new()
        .with_features(vec![feature(FeatureName::CLOSURE_DETECTION, true, config)])
        .storing_with_window(conversation.clone(), 12, vec![]);
    let mut setup = setup;
    setup.conversations.expect_close_detected().never();
    setup.handle(inbound("oi")).await.unwrap();

    let setup = Setup::new()
        .with_features(vec![])
        .storing_in(closed(conversation, ConversationStatus::AgentClosed), false)
        .no_detection();
    let outcome = setup.handle(inbound("oi")).await.unwrap();
    assert_eq!(outcome.closure, None);
}

#[tokio::test]
async fn store_failures_are_reported() {
    let mut setup = Setup::new().with_features(vec![]);
    setup.messages.expect_store_inbound().times(1).returning(|_, _, _, _| Err(unavailable()));
    let result = setup.no_detection().handle(inbound("oi")).await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}
