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
    let event = c.record_message(MessageDirection::Inbound, at).unwrap();
    assert!(matches!(event, Some(DomainEvent::ConversationProgressed { .. })));
    assert_eq!(c.status, ConversationStatus::Progress);
    assert_eq!(c.last_message_at, Some(at));
    assert_eq!(c.last_inbound_at, Some(at));
    assert_eq!(c.record_message(MessageDirection::Outbound, at + Duration::seconds(1)).unwrap(), None);
    assert_eq!(c.message_count, 2);
    assert_eq!(c.last_inbound_at, Some(at), "outbound does not move the inbound mark");
}

#[test]
fn a_late_message_does_not_move_last_message_back() {
    let mut c = conversation(Channel::Sms);
    c.record_message(MessageDirection::Inbound, start() + Duration::seconds(10)).unwrap();
    c.record_message(MessageDirection::Inbound, start() + Duration::seconds(3)).unwrap();
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
            c.record_message(MessageDirection::Inbound, start()),
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
    c.record_message(MessageDirection::Inbound, start() + Duration::minutes(8)).unwrap();
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
    wa.record_message(MessageDirection::Inbound, start()).unwrap();
    assert!(wa.free_form_allowed(start() + Duration::hours(23)));
    assert!(!wa.free_form_allowed(start() + Duration::hours(24)));
}
