//! Inbound messages, once verified: parsing Twilio's fields, storing the message, closure
//! detection and the auto-reply.

use chrono::Duration;
use domain::{
    AiResult, AiResultId, CLOSURE_DETECTION_KIND, Channel, Conversation, ConversationStatus, DeliveryStatus,
    FeatureName, Message, MessageDirection, MessageOwner, MessageSid, MessageType, NewMessage,
};
use ports::{DetectedClosure, StoreError};
use serde_json::{Value, json};
use services::{CLOSURE_MODEL, ServiceError};

use crate::fixtures::*;
use crate::twilio::*;

/// How many turns detection reads when the tenant did not configure it.
fn default_window() -> u32 {
    u32::try_from(domain::closure::ClosureConfig::default().window).unwrap()
}

fn detection_off() -> domain::Feature {
    feature(FeatureName::CLOSURE_DETECTION, false, json!({}))
}

fn auto_reply(text: &str) -> domain::Feature {
    feature(FeatureName::AUTO_REPLY, true, json!({ "message": text }))
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

/// A tenant with default settings (a grace period of 120 s) whose store keeps the message in
/// `conversation`, reading the default window and answering `turns` as the latest.
fn detecting(conversation: &Conversation, turns: Vec<Message>) -> Setup {
    Setup::tenant(&[]).storing_with_window(conversation.clone(), default_window(), turns)
}

/// As [`detecting`], for a tenant that closes at once (`grace_seconds` 0).
fn detecting_at_once(conversation: &Conversation, turns: Vec<Message>) -> Setup {
    let at_once = feature(FeatureName::CLOSURE_DETECTION, true, json!({"grace_seconds": 0}));
    Setup::tenant(&[at_once]).storing_with_window(conversation.clone(), default_window(), turns)
}

#[tokio::test]
async fn stores_the_message_in_a_candidate_conversation_and_replies() {
    let mut setup = Setup::tenant(&[detection_off(), auto_reply("Recebido!")]);
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
                && message.provider_sid.as_deref() == Some(MESSAGE_SID)
                && message.delivery_status == DeliveryStatus::Received
                && message.media.is_empty()
                && message.metadata == json!({})
                && *at == now()
        })
        .times(1)
        .returning(|candidate, message, _, at| Ok(opened(candidate, &message, at)));
    setup.spool.expect_push().never();
    let outcome = setup.no_detection().stored(Fields::inbound("Oi, tudo bem?")).await;
    assert!(outcome.conversation_created && !outcome.duplicate && !outcome.closed);
    assert_eq!(outcome.message.id, stored_message_id());
    assert_eq!((outcome.closure, outcome.auto_reply.as_deref()), (None, Some("Recebido!")));
}

#[tokio::test]
async fn whatsapp_messages_keep_the_profile_in_metadata_and_type_from_media() {
    let mut setup = Setup::tenant(&[detection_off()]);
    setup
        .messages
        .expect_store_inbound()
        .withf(|candidate, message, window, _| {
            *window == 0
                && candidate.channel == Channel::Whatsapp
                && message.body.is_none()
                && message.media == [media("https://api.twilio.com/media/1", "audio/ogg")]
                && message.message_type == MessageType::Audio
                && message.metadata == json!({"profile_name": "Ana", "wa_id": "5511999998888"})
        })
        .times(1)
        .returning(|candidate, message, _, at| Ok(opened(candidate, &message, at)));
    let fields = Fields::inbound("  ")
        .set("From", format!("whatsapp:{CUSTOMER}"))
        .set("To", format!("whatsapp:{BUSINESS}"))
        .set("NumMedia", "1")
        .set("MediaUrl0", "https://api.twilio.com/media/1")
        .set("MediaContentType0", "audio/ogg")
        .set("ProfileName", "Ana")
        .set("WaId", "5511999998888");
    let outcome = setup.no_detection().stored(fields).await;
    assert_eq!(outcome.auto_reply, None);
}

#[tokio::test]
async fn the_older_sms_message_sid_is_accepted_when_message_sid_is_absent() {
    let mut setup = Setup::tenant(&[detection_off()]);
    setup
        .messages
        .expect_store_inbound()
        .withf(|_, message, _, _| {
            message.provider_sid.as_deref() == Some("SM00000000000000000000000000000001")
        })
        .times(1)
        .returning(|candidate, message, _, at| Ok(opened(candidate, &message, at)));
    let fields = Fields::inbound("oi")
        .without("MessageSid")
        .set("SmsMessageSid", "SM00000000000000000000000000000001");
    setup.no_detection().stored(fields).await;
}

#[tokio::test]
async fn refuses_invalid_fields_after_a_good_signature_without_storing_or_spooling() {
    let too_many = (NewMessage::MAX_MEDIA + 1).to_string();
    let cases = [
        (Fields::inbound("oi").set("MessageSid", " "), "MessageSid"),
        (Fields::inbound("oi").without("MessageSid"), "MessageSid"),
        (Fields::inbound("oi").set("MessageSid", "S".repeat(MessageSid::MAX_CHARS + 1)), "MessageSid"),
        (Fields::inbound("oi").set("From", "not a number"), "From"),
        (Fields::inbound("oi").without("From"), "From"),
        (Fields::inbound("oi").set("To", "+1"), "To"),
        (Fields::inbound("oi").set("To", "+5511333334444"), "To"),
        (Fields::inbound("oi").set("From", format!("whatsapp:{CUSTOMER}")), "From"),
        (Fields::inbound("").without("Body"), "Body"),
        (Fields::inbound(" \n "), "Body"),
        (Fields::inbound(&"a".repeat(domain::MessageBody::MAX_CHARS + 1)), "Body"),
        (Fields::inbound("oi").set("NumMedia", "two"), "NumMedia"),
        (Fields::inbound("oi").set("NumMedia", too_many), "NumMedia"),
        (Fields::inbound("oi").set("NumMedia", "1"), "MediaUrl"),
        (Fields::inbound("oi").set("NumMedia", "1").set("MediaUrl0", "file:///etc/passwd"), "MediaUrl"),
    ];
    for (fields, field) in cases {
        let setup = Setup::tenant(&[]).stores_nothing();
        assert_invalid(setup.inbound(fields).await, field);
    }
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_and_nothing_else_runs() {
    let setup =
        Setup::tenant(&[auto_reply("Recebido!")]).storing_in(conversation(Channel::Sms), true).no_detection();
    let outcome = setup.stored(Fields::inbound("oi")).await;
    assert!(outcome.duplicate && !outcome.closed);
    assert_eq!((outcome.closure, outcome.auto_reply), (None, None));
}

#[tokio::test]
async fn without_a_grace_period_detection_closes_a_conversation_that_ended() {
    let conversation = conversation(Channel::Sms);
    let conversation_id = conversation.id;
    let mut setup = detecting_at_once(&conversation, goodbye_turns(&conversation));
    setup.conversations.expect_propose_closure().never();
    setup
        .conversations
        .expect_close_detected()
        .withf(move |owner, id, verdict, at| {
            let record = &verdict.assessment;
            *owner == owner_id()
                && *id == conversation_id
                && verdict.message_id == stored_message_id()
                && !verdict.confirms_pending
                && !verdict.reason.is_empty()
                && record.kind == CLOSURE_DETECTION_KIND
                && record.model.as_deref() == Some(CLOSURE_MODEL)
                && record.score.is_some_and(|score| (0.0..=1.0).contains(&score))
                && record.content.get("should_close") == Some(&Value::Bool(true))
                && *at == now()
        })
        .times(1)
        .returning(move |_, _, verdict, _| {
            Ok(detected(&conversation, verdict.message_id, &verdict.assessment))
        });
    let outcome = setup.stored(Fields::inbound("Não, obrigado! Tchau 👋")).await;
    assert!(outcome.closed && !outcome.closure_pending);
    assert_eq!(outcome.conversation.status, ConversationStatus::UserClosed);
    assert!(outcome.closure.is_some_and(|assessment| assessment.should_close));
}

#[tokio::test]
async fn with_a_grace_period_detection_proposes_a_pending_closure_and_closes_nothing() {
    let conversation = conversation(Channel::Sms);
    let conversation_id = conversation.id;
    let mut setup = detecting(&conversation, goodbye_turns(&conversation));
    setup.conversations.expect_close_detected().never();
    let pending_conversation = conversation.clone();
    setup
        .conversations
        .expect_propose_closure()
        .withf(move |owner, id, pending, at| {
            *owner == owner_id()
                && *id == conversation_id
                && pending.message_id == stored_message_id()
                && pending.closes_at == now() + Duration::seconds(120)
                && (0.0..=1.0).contains(&pending.score)
                && !pending.reason.is_empty()
                && *at == now()
        })
        .times(1)
        .returning(move |_, _, pending, _| {
            Ok(Conversation { pending_closure: Some(pending), ..pending_conversation.clone() })
        });
    let outcome = setup.stored(Fields::inbound("Não, obrigado! Tchau 👋")).await;
    assert!(outcome.closure_pending && !outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
    let pending = outcome.conversation.pending_closure.expect("a pending closure");
    assert_eq!(pending.closes_at, now() + Duration::seconds(120));
}

#[tokio::test]
async fn the_grace_period_is_never_shorter_than_the_tenants_floor_of_silence() {
    let conversation = conversation(Channel::Sms);
    let config = json!({"grace_seconds": 30, "min_quiet_seconds": 300});
    let mut setup = Setup::tenant(&[feature(FeatureName::CLOSURE_DETECTION, true, config)])
        .storing_with_window(conversation.clone(), default_window(), goodbye_turns(&conversation));
    setup
        .conversations
        .expect_propose_closure()
        .withf(|_, _, pending, _| pending.closes_at == now() + Duration::seconds(300))
        .times(1)
        .returning(move |_, _, pending, _| {
            Ok(Conversation { pending_closure: Some(pending), ..conversation.clone() })
        });
    let outcome = setup.stored(Fields::inbound("Não, obrigado! Tchau 👋")).await;
    assert!(outcome.closure_pending);
}

#[tokio::test]
async fn a_pending_closure_superseded_by_a_newer_message_is_not_an_error() {
    let conversation = conversation(Channel::Sms);
    let mut setup = detecting(&conversation, goodbye_turns(&conversation));
    setup
        .conversations
        .expect_propose_closure()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::ClosureSuperseded));
    let outcome = setup.stored(Fields::inbound("Tchau")).await;
    assert!(!outcome.closure_pending && !outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
}

#[tokio::test]
async fn an_ongoing_conversation_is_assessed_but_left_open() {
    let conversation = conversation(Channel::Sms);
    let turns = vec![message(&conversation, MessageOwner::User, "Oi, quando chega meu pedido 123?", now())];
    let setup = detecting(&conversation, turns).no_detection();
    let outcome = setup.stored(Fields::inbound("Oi, quando chega meu pedido 123?")).await;
    assert!(!outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
    assert!(outcome.closure.is_some_and(|assessment| !assessment.should_close));
}

#[tokio::test]
async fn a_close_that_raced_detection_is_not_an_error() {
    let conversation = conversation(Channel::Sms);
    let mut setup = detecting_at_once(&conversation, goodbye_turns(&conversation));
    setup
        .conversations
        .expect_close_detected()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::ConversationClosed(ConversationStatus::IdleTimeout)));
    let outcome = setup.stored(Fields::inbound("Tchau")).await;
    assert!(!outcome.closed);
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
    assert!(outcome.closure.is_some_and(|assessment| assessment.should_close));
}

#[tokio::test]
async fn a_failing_detection_keeps_the_stored_message_acknowledged_and_unspooled() {
    let conversation = conversation(Channel::Sms);
    let mut setup = detecting_at_once(&conversation, goodbye_turns(&conversation));
    setup.conversations.expect_close_detected().times(1).returning(|_, _, _, _| Err(unavailable()));
    setup.spool.expect_push().never();
    let outcome = setup.stored(Fields::inbound("Tchau")).await;
    assert!(!outcome.duplicate && !outcome.closed);
    assert_eq!(outcome.message.id, stored_message_id());
    assert_eq!(outcome.conversation.status, ConversationStatus::Progress);
}

#[tokio::test]
async fn detection_uses_the_tenants_window() {
    let config = feature(FeatureName::CLOSURE_DETECTION, true, json!({"window": 12}));
    let setup =
        Setup::tenant(&[config]).storing_with_window(conversation(Channel::Sms), 12, vec![]).no_detection();
    let outcome = setup.stored(Fields::inbound("oi")).await;
    assert!(outcome.closure.is_some_and(|assessment| !assessment.should_close));
}

#[tokio::test]
async fn detection_skips_a_conversation_already_closed() {
    let conversation = closed(conversation(Channel::Sms), ConversationStatus::AgentClosed);
    let setup = Setup::tenant(&[auto_reply("Recebido!")]).storing_in(conversation, false).no_detection();
    let outcome = setup.stored(Fields::inbound("oi")).await;
    assert_eq!((outcome.closure, outcome.closed), (None, false));
    assert_eq!(outcome.auto_reply.as_deref(), Some("Recebido!"));
}

#[tokio::test]
async fn a_stored_row_that_does_not_read_back_is_reported_not_spooled() {
    // Corrupt data is about this tenant's rows: replaying the message later would meet it again.
    let mut setup = Setup::tenant(&[]);
    setup
        .messages
        .expect_store_inbound()
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::Corrupt("row".into())));
    setup.spool.expect_push().never();
    let result = setup.no_detection().inbound(Fields::inbound("oi")).await;
    assert_eq!(result, Err(ServiceError::Internal("row".into())));
}
