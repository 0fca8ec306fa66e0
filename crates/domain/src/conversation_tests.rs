use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use super::*;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn settings() -> LifecycleSettings {
    LifecycleSettings {
        ttl_seconds: 3600,
        idle_timeout_seconds: 600,
        max_extension_seconds: 1800,
        max_lifetime_seconds: 7200,
    }
}

fn inbound(text: &str) -> NewMessage {
    NewMessage {
        direction: MessageDirection::Inbound,
        sender: crate::MessageOwner::User,
        message_type: crate::MessageType::Text,
        body: Some(crate::MessageBody::new(text.to_owned()).unwrap()),
        media: Vec::new(),
        template: None,
        context: json!({}),
        metadata: json!({}),
        provider_sid: Some("SM00000000000000000000000000000001".to_owned()),
        delivery_status: crate::DeliveryStatus::Received,
    }
}

fn outbound(text: &str) -> NewMessage {
    NewMessage::outbound(
        crate::MessageOwner::Agent,
        Some(crate::MessageBody::new(text.to_owned()).unwrap()),
        Vec::new(),
    )
    .unwrap()
}

fn conversation(channel: Channel) -> Conversation {
    let new = NewConversation {
        channel,
        customer_phone: PhoneNumber::parse("+5511999998888").unwrap(),
        business_phone: PhoneNumber::parse("+5511333334444").unwrap(),
        context: json!({}),
        metadata: json!({}),
    };
    Conversation::open(OwnerId::new_at(start()), new, &settings(), start())
}

#[test]
fn opens_pending_with_deadlines_from_settings() {
    let c = conversation(Channel::Sms);
    assert_eq!(c.status, ConversationStatus::Pending);
    assert_eq!(c.expires_at, start() + Duration::hours(1));
    assert_eq!(c.max_expires_at, start() + Duration::hours(2));
    assert_eq!(c.idle_deadline(), start() + Duration::minutes(10));
    assert!(matches!(c.opened_event(), DomainEvent::ConversationOpened { .. }));
}

#[test]
fn first_message_moves_to_progress_once() {
    let mut c = conversation(Channel::Sms);
    let at = start() + Duration::seconds(5);
    let event = c.record_message(MessageId::new_at(start()), &inbound("oi"), at).unwrap();
    assert!(matches!(event, Some(DomainEvent::ConversationProgressed { .. })));
    assert_eq!(c.status, ConversationStatus::Progress);
    assert_eq!(c.last_message_at, Some(at));
    assert_eq!(c.last_inbound_at, Some(at));
    assert_eq!(
        c.record_message(MessageId::new_at(start()), &outbound("oi"), at + Duration::seconds(1)).unwrap(),
        None
    );
    assert_eq!(c.message_count, 2);
    assert_eq!(c.last_inbound_at, Some(at), "outbound does not move the inbound mark");
}

#[test]
fn a_late_message_does_not_move_last_message_back() {
    let mut c = conversation(Channel::Sms);
    c.record_message(MessageId::new_at(start()), &inbound("oi"), start() + Duration::seconds(10)).unwrap();
    c.record_message(MessageId::new_at(start()), &inbound("oi"), start() + Duration::seconds(3)).unwrap();
    assert_eq!(c.last_message_at, Some(start() + Duration::seconds(10)));
}

#[test]
fn close_moves_to_exactly_one_final_state() {
    let mut c = conversation(Channel::Sms);
    let at = start() + Duration::minutes(1);
    let event = c.close(ConversationStatus::AgentClosed, "resolved", at).unwrap();
    assert_eq!(
        event,
        DomainEvent::ConversationClosed {
            owner_id: c.owner_id,
            conversation_id: c.id,
            status: ConversationStatus::AgentClosed,
            reason: "resolved".into(),
            at,
        }
    );
    assert_eq!(
        (c.status, c.closed_at, c.close_reason.as_deref()),
        (ConversationStatus::AgentClosed, Some(at), Some("resolved"))
    );
    assert_eq!(
        c.close(ConversationStatus::UserClosed, "again", at),
        Err(LifecycleError::Closed(ConversationStatus::AgentClosed))
    );
    assert_eq!(c.status, ConversationStatus::AgentClosed, "a refused close changes nothing");
}

#[test]
fn close_refuses_active_targets() {
    let mut c = conversation(Channel::Sms);
    for status in ConversationStatus::ACTIVE {
        assert_eq!(c.close(*status, "x", start()), Err(LifecycleError::NotAClosingStatus(*status)));
    }
}

#[test]
fn final_states_refuse_messages_and_extensions() {
    for status in ConversationStatus::ALL.iter().filter(|s| s.is_terminal()) {
        let mut c = conversation(Channel::Sms);
        c.close(*status, "done", start()).unwrap();
        assert_eq!(
            c.record_message(MessageId::new_at(start()), &inbound("oi"), start()),
            Err(LifecycleError::Closed(*status))
        );
        assert_eq!(c.extend(60, start()), Err(LifecycleError::Closed(*status)));
        assert!(!c.is_expired(start() + Duration::days(30)));
        assert_eq!(c.due_closure(start() + Duration::days(30)), None);
    }
}

#[test]
fn extend_moves_forward_and_is_capped() {
    let mut c = conversation(Channel::Sms);
    let event = c.extend(600, start()).unwrap();
    assert_eq!(c.expires_at, start() + Duration::minutes(70));
    assert!(
        matches!(event, DomainEvent::ConversationExtended { expires_at, .. } if expires_at == c.expires_at)
    );

    c.extend(100_000, start()).unwrap();
    assert_eq!(
        c.expires_at,
        start() + Duration::minutes(100),
        "one extension adds at most max_extension_seconds"
    );

    c.extend(1800, start()).unwrap();
    assert_eq!(c.expires_at, c.max_expires_at, "never beyond the maximum lifetime");
    assert_eq!(c.extend(60, start()), Err(LifecycleError::LifetimeExhausted));
    assert_eq!(c.extend(0, start()), Err(LifecycleError::NonPositiveExtension));
    assert_eq!(c.extend(-5, start()), Err(LifecycleError::NonPositiveExtension));
}

#[test]
fn extending_an_overdue_conversation_counts_from_now() {
    let mut c = conversation(Channel::Sms);
    let late = start() + Duration::minutes(65);
    c.extend(300, late).unwrap();
    assert_eq!(c.expires_at, late + Duration::minutes(5));
}

#[test]
fn expiry_and_idleness_follow_the_clock_passed_in() {
    let mut c = conversation(Channel::Sms);
    assert_eq!(c.due_closure(start() + Duration::minutes(9)), None);
    assert_eq!(c.due_closure(start() + Duration::minutes(10)), Some(ConversationStatus::IdleTimeout));
    c.record_message(MessageId::new_at(start()), &inbound("oi"), start() + Duration::minutes(8)).unwrap();
    assert!(!c.is_idle(start() + Duration::minutes(17)));
    assert!(c.is_idle(start() + Duration::minutes(18)));
    assert_eq!(c.due_closure(start() + Duration::hours(1)), Some(ConversationStatus::Expired), "expiry wins");
}

#[test]
fn whatsapp_free_form_needs_an_open_session_window() {
    let sms = conversation(Channel::Sms);
    assert!(sms.free_form_allowed(start()));

    let mut wa = conversation(Channel::Whatsapp);
    assert!(!wa.free_form_allowed(start()), "the customer has not written yet");
    wa.record_message(MessageId::new_at(start()), &inbound("oi"), start()).unwrap();
    assert!(wa.free_form_allowed(start() + Duration::hours(23)));
    assert!(!wa.free_form_allowed(start() + Duration::hours(24)));
}

/// A conversation whose customer just wrote `text` (message `id`) at `at`.
fn customer_wrote(text: &str, at: DateTime<Utc>) -> (Conversation, MessageId) {
    let mut c = conversation(Channel::Sms);
    let id = MessageId::new_at(at);
    c.record_message(id, &inbound(text), at).unwrap();
    (c, id)
}

fn pending_on(message_id: MessageId, closes_at: DateTime<Utc>) -> PendingClosure {
    PendingClosure { message_id, closes_at, score: 0.8, reason: "thanks".to_owned() }
}

#[test]
fn a_pending_closure_waits_and_schedules_the_sweep() {
    let at = start() + Duration::seconds(5);
    let (mut c, id) = customer_wrote("Obrigado!", at);
    assert_eq!(c.next_sweep_at(), at + Duration::minutes(10), "idle deadline without a pending closure");
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    assert!(c.status.is_active(), "a pending closure keeps the conversation open");
    assert_eq!(c.next_sweep_at(), at + Duration::seconds(120));
    assert_eq!(c.due_pending_closure(at + Duration::seconds(119)), None);
    assert_eq!(c.due_pending_closure(at + Duration::seconds(120)).map(|p| p.message_id), Some(id));
}

#[test]
fn a_closure_on_a_message_that_is_not_the_latest_is_refused() {
    let at = start();
    let (mut c, first) = customer_wrote("Obrigado!", at);
    let second = MessageId::new_at(at + Duration::seconds(1));
    c.record_message(second, &inbound("Ah, e mais uma coisa"), at + Duration::seconds(1)).unwrap();
    assert_eq!(c.propose_closure(pending_on(first, at), at), Err(LifecycleError::ClosureSuperseded));
    assert_eq!(c.close_detected(first, false, "thanks", at), Err(LifecycleError::ClosureSuperseded));
    assert!(c.status.is_active());
}

#[test]
fn a_newer_customer_message_drops_the_pending_closure() {
    let at = start();
    let (mut c, id) = customer_wrote("Obrigado!", at);
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    c.record_message(
        MessageId::new_at(at + Duration::seconds(1)),
        &inbound("vocês entregam em Campinas?"),
        at,
    )
    .unwrap();
    assert_eq!(c.pending_closure, None);
    assert_eq!(c.close_detected(id, true, "thanks", at), Err(LifecycleError::ClosureSuperseded));
}

#[test]
fn an_agent_goodbye_keeps_the_pending_closure_and_a_question_drops_it() {
    let at = start();
    let (mut c, id) = customer_wrote("Obrigado!", at);
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    c.record_message(MessageId::new_at(at), &outbound("De nada! Até mais 😊"), at).unwrap();
    assert!(c.pending_closure.is_some(), "an acknowledgement keeps it");
    c.record_message(MessageId::new_at(at), &outbound("Quer aproveitar nossa oferta de upgrade?"), at)
        .unwrap();
    assert_eq!(c.pending_closure, None, "a question or an offer drops it");
}

#[test]
fn a_pending_closure_closes_once_and_any_close_clears_it() {
    let at = start();
    let (mut c, id) = customer_wrote("Obrigado!", at);
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    let event = c.close_detected(id, true, "thanks", at + Duration::seconds(120)).unwrap();
    assert!(matches!(event, DomainEvent::ConversationClosed { status: ConversationStatus::UserClosed, .. }));
    assert_eq!(c.pending_closure, None);
    assert_eq!(
        c.close_detected(id, true, "thanks", at),
        Err(LifecycleError::Closed(ConversationStatus::UserClosed))
    );

    let (mut c, id) = customer_wrote("Obrigado!", at);
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    c.close(ConversationStatus::AgentClosed, "resolved", at).unwrap();
    assert_eq!(c.pending_closure, None, "an explicit close wins over a pending one");
}

#[test]
fn dropping_a_pending_closure_needs_the_same_message() {
    let at = start();
    let (mut c, id) = customer_wrote("Obrigado!", at);
    c.propose_closure(pending_on(id, at + Duration::seconds(120)), at).unwrap();
    assert!(!c.drop_pending_closure(MessageId::new_at(at + Duration::seconds(9)), at));
    assert!(c.pending_closure.is_some());
    assert!(c.drop_pending_closure(id, at));
    assert_eq!(c.pending_closure, None);
}
