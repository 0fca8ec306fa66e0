use std::sync::Arc;

use domain::{ConversationId, EventId, EventType};
use mockall::predicate::eq;
use ports::{EventFilter, EventPosition, MockEventLog};
use services::{EventRetention, EventService, ServiceError, StreamRequest};

use crate::fixtures::*;

fn service(log: MockEventLog) -> EventService {
    EventService { log: Arc::new(log) }
}

const AT: EventPosition = EventPosition { txid: 900, seq: 41 };

#[tokio::test]
async fn a_new_reader_of_any_role_starts_at_the_newest_event_with_its_filter() {
    let mut log = MockEventLog::new();
    log.expect_latest_position().with(eq(owner_id())).times(1).returning(|_| Ok(Some(AT)));
    log.expect_event_position().never();
    let conversation = ConversationId::new_at(now());
    let request = StreamRequest {
        types: Some("message.created, conversation.closed,message.created".into()),
        conversation_id: Some(conversation.to_string()),
        last_event_id: None,
    };
    let opened = service(log).open(&viewer(), request).await.unwrap();
    assert_eq!(opened.after, Some(AT));
    assert_eq!(
        opened.filter,
        EventFilter {
            types: vec![EventType::MessageCreated, EventType::ConversationClosed],
            conversation_id: Some(conversation)
        }
    );
}

#[tokio::test]
async fn a_reconnecting_reader_resumes_after_its_last_event() {
    let id = EventId::new_at(now());
    let mut log = MockEventLog::new();
    log.expect_event_position().with(eq(owner_id()), eq(id)).times(1).returning(|_, _| Ok(Some(AT)));
    log.expect_latest_position().never();
    let request = StreamRequest { last_event_id: Some(format!(" {id}")), ..StreamRequest::default() };
    let opened = service(log).open(&agent(), request).await.unwrap();
    assert_eq!(opened.after, Some(AT));
    assert_eq!(opened.filter, EventFilter::default());
}

#[tokio::test]
async fn an_unkept_last_event_id_or_a_bad_filter_is_refused_naming_it_and_reads_nothing_more() {
    let mut log = MockEventLog::new();
    log.expect_event_position().times(1).returning(|_, _| Ok(None));
    log.expect_latest_position().never();
    log.expect_events_after().never();
    let service = service(log);
    let gone =
        StreamRequest { last_event_id: Some(EventId::new_at(now()).to_string()), ..StreamRequest::default() };
    for (request, field) in [
        (gone, "Last-Event-ID"),
        (StreamRequest { last_event_id: Some("42".into()), ..StreamRequest::default() }, "Last-Event-ID"),
        (StreamRequest { types: Some("message.deleted".into()), ..StreamRequest::default() }, "types"),
        (
            StreamRequest { conversation_id: Some("abc".into()), ..StreamRequest::default() },
            "conversation_id",
        ),
    ] {
        match service.open(&viewer(), request).await {
            Err(ServiceError::Invalid { field: named, .. }) => assert_eq!(named, field),
            other => panic!("expected invalid {field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_retention_prunes_what_is_older_than_it_keeps() {
    let mut log = MockEventLog::new();
    log.expect_prune_events()
        .with(eq(now() - chrono::Duration::days(7)), eq(500))
        .times(1)
        .returning(|_, _| Ok(500));
    let retention = EventRetention {
        log: Arc::new(log),
        clock: clock(),
        keep: chrono::Duration::days(7),
        batch_size: 500,
    };
    assert_eq!(retention.run_once().await.unwrap(), 500);
}
