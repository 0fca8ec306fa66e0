//! Messages, delivery statuses and AI results.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{
    AiResult, AiResultId, Conversation, ConversationId, DeliveryStatus, Message, MessageBody, MessageId,
    MessageTurn, NewAiResult, NewMessage, OwnerId, SendJobId, SendQuota,
};
use ports::{
    AppendedMessage, DeliveryFailure, DeliveryUpdate, InboundStored, MessageStore, Page, PageRequest,
    SendCounts, StoreError,
};
use uuid::Uuid;

use crate::conversations::{lock_conversation, save_conversation};
use crate::error::{TxError, corrupt};
use crate::group_commit::{self, ReceiveInbound};
use crate::rows::{AiResultRow, ConversationRow, FullMessageRow, MessageRow};
use crate::schema::{ai_results, conversations, messages, send_jobs};
use crate::{PgStore, set_tenant};

fn message_row(
    conversation: &Conversation,
    message: &NewMessage,
    at: DateTime<Utc>,
) -> Result<MessageRow, TxError> {
    Ok(MessageRow {
        owner_id: conversation.owner_id.into(),
        id: MessageId::new_at(at).into(),
        conversation_id: conversation.id.into(),
        direction: message.direction.as_str().to_owned(),
        sender: message.sender.as_str().to_owned(),
        message_type: message.message_type.as_str().to_owned(),
        body: message.body.as_ref().map(|b| b.as_str().to_owned()),
        media: serde_json::to_value(&message.media).map_err(|e| corrupt("messages.media", e))?,
        context: message.context.clone(),
        metadata: message.metadata.clone(),
        provider_sid: message.provider_sid.clone(),
        delivery_status: message.delivery_status.as_str().to_owned(),
        error_code: None,
        error_message: None,
        created_at: at,
        updated_at: at,
    })
}

/// Stores an AI result of `message_id` (a message of `conversation_id`) as of `at`.
pub(crate) async fn insert_ai_result(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    conversation_id: ConversationId,
    message_id: MessageId,
    result: NewAiResult,
    at: DateTime<Utc>,
) -> Result<AiResultRow, TxError> {
    Ok(diesel::insert_into(ai_results::table)
        .values(AiResultRow {
            owner_id: owner_id.into(),
            id: AiResultId::new_at(at).into(),
            conversation_id: conversation_id.into(),
            message_id: message_id.into(),
            kind: result.kind,
            model: result.model,
            content: result.content,
            score: result.score,
            created_at: at,
        })
        .returning(AiResultRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The tenant's message with this provider id, locked.
async fn find_by_provider_sid(
    conn: &AsyncPgConnection,
    owner_id: OwnerId,
    provider_sid: &str,
) -> Result<Option<Message>, TxError> {
    let mut conn = conn;
    let row = messages::table
        .filter(messages::owner_id.eq(Uuid::from(owner_id)).and(messages::provider_sid.eq(provider_sid)))
        .select(FullMessageRow::as_select())
        .for_update()
        .first(&mut conn)
        .await
        .optional()?;
    Ok(row.map(Message::try_from).transpose()?)
}

/// The tenant's outbound message `id`, locked, if it still waits for its provider id (a
/// message with another provider id is another send's, and is not touched).
async fn awaiting_provider_sid(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    id: MessageId,
) -> Result<Option<Message>, TxError> {
    let row = messages::table
        .filter(
            messages::owner_id
                .eq(Uuid::from(owner_id))
                .and(messages::id.eq(Uuid::from(id)))
                .and(messages::direction.eq(domain::MessageDirection::Outbound.as_str()))
                .and(messages::provider_sid.is_null()),
        )
        .select(FullMessageRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Message::try_from).transpose()?)
}

async fn ensure_conversation_exists(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    id: ConversationId,
) -> Result<(), TxError> {
    let found: i64 = conversations::table
        .filter(conversations::owner_id.eq(Uuid::from(owner_id)).and(conversations::id.eq(Uuid::from(id))))
        .count()
        .get_result(conn)
        .await?;
    if found == 0 { Err(StoreError::NotFound.into()) } else { Ok(()) }
}

async fn message_conversation(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    id: MessageId,
) -> Result<Uuid, TxError> {
    Ok(messages::table
        .filter(messages::owner_id.eq(Uuid::from(owner_id)).and(messages::id.eq(Uuid::from(id))))
        .select(messages::conversation_id)
        .first(conn)
        .await?)
}

#[async_trait]
impl MessageStore for PgStore {
    async fn store_inbound(
        &self,
        candidate: Conversation,
        message: NewMessage,
        window: u32,
        at: DateTime<Utc>,
    ) -> Result<InboundStored, StoreError> {
        let candidate_row = ConversationRow::from(&candidate);
        let row = message_row(&candidate, &message, at)?;
        let window = i32::try_from(window).unwrap_or(i32::MAX);
        let statement = ReceiveInbound { candidate: candidate_row, message: row, window, at };
        let receive = group_commit::run(self.grouped.as_ref().map(|g| &g.inbound), &self.pool, statement);
        let (conversation, message, conversation_created, duplicate, senders, bodies, times) =
            tokio::time::timeout(self.inbound_deadline, receive).await.map_err(|_| {
                StoreError::Unavailable(format!(
                    "the database did not store the message within {} ms",
                    self.inbound_deadline.as_millis()
                ))
            })??;
        let message = Message::try_from(message)?;
        let mut recent = Vec::new();
        if !duplicate && window > 0 {
            for ((sender, body), created_at) in senders.into_iter().zip(bodies).zip(times) {
                recent.push(MessageTurn {
                    sender: sender.parse().map_err(|e| corrupt("messages.sender", e))?,
                    body: body.map(MessageBody::new).transpose().map_err(|e| corrupt("messages.body", e))?,
                    created_at,
                });
            }
            recent.push(MessageTurn::from(&message));
        }
        Ok(InboundStored {
            conversation: conversation.try_into()?,
            message,
            conversation_created,
            duplicate,
            recent,
        })
    }

    async fn append_message(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        message: NewMessage,
        send: Option<SendQuota>,
        at: DateTime<Utc>,
    ) -> Result<AppendedMessage, StoreError> {
        let mut conn = self.conn().await?;
        let appended = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut conversation = lock_conversation(conn, owner_id, conversation_id).await?;
                if let Some(quota) = send {
                    crate::send_usage::count_send(conn, owner_id, quota, at).await?;
                }
                let new_row = message_row(&conversation, &message, at)?;
                conversation.record_message(new_row.id.into(), &message, at)?;
                let template = message
                    .template
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(|e| corrupt("messages.template", e))?;
                let row: FullMessageRow = diesel::insert_into(messages::table)
                    .values((new_row, messages::template.eq(template)))
                    .returning(FullMessageRow::as_returning())
                    .get_result(conn)
                    .await?;
                if send.is_some() {
                    diesel::insert_into(send_jobs::table)
                        .values((
                            send_jobs::owner_id.eq(Uuid::from(owner_id)),
                            send_jobs::id.eq(Uuid::from(SendJobId::new_at(at))),
                            send_jobs::conversation_id.eq(Uuid::from(conversation_id)),
                            send_jobs::message_id.eq(row.row.id),
                            send_jobs::run_at.eq(at),
                            send_jobs::created_at.eq(at),
                            send_jobs::updated_at.eq(at),
                        ))
                        .execute(conn)
                        .await?;
                }
                save_conversation(conn, &mut conversation).await?;
                Ok::<_, TxError>(AppendedMessage { message: row.try_into()?, conversation })
            })
            .await?;
        Ok(appended)
    }

    async fn send_counts(&self, owner_id: OwnerId, at: DateTime<Utc>) -> Result<SendCounts, StoreError> {
        let mut conn = self.conn().await?;
        let counts = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                crate::send_usage::counts(conn, owner_id, at).await
            })
            .await?;
        Ok(counts)
    }

    async fn get_message(&self, owner_id: OwnerId, id: MessageId) -> Result<Message, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = messages::table
                    .filter(messages::owner_id.eq(Uuid::from(owner_id)).and(messages::id.eq(Uuid::from(id))))
                    .select(FullMessageRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_messages(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                ensure_conversation_exists(conn, owner_id, conversation_id).await?;
                let mut query = messages::table
                    .filter(
                        messages::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(messages::conversation_id.eq(Uuid::from(conversation_id))),
                    )
                    .select(FullMessageRow::as_select())
                    .order(messages::id.asc())
                    .limit(i64::from(page.limit) + 1)
                    .into_boxed();
                if let Some(cursor) = page.after {
                    query = query.filter(messages::id.gt(cursor.0));
                }
                Ok::<_, TxError>(query.load(conn).await?)
            })
            .await?;
        let messages = rows.into_iter().map(Message::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(messages, page.limit, |m| m.id.as_uuid()))
    }

    async fn apply_delivery_status(
        &self,
        owner_id: OwnerId,
        message_id: Option<MessageId>,
        provider_sid: String,
        status: DeliveryStatus,
        failure: Option<DeliveryFailure>,
        _at: DateTime<Utc>,
    ) -> Result<DeliveryUpdate, StoreError> {
        let mut conn = self.conn().await?;
        let update = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let found = match find_by_provider_sid(conn, owner_id, &provider_sid).await? {
                    Some(message) => Some(message),
                    // Twilio can report a status before the dispatcher stored the id it answered
                    // with. The callback's signed URL names the message, so it is applied to it,
                    // and records the id: the dispatcher's own record then changes nothing.
                    None => match message_id {
                        Some(id) => awaiting_provider_sid(conn, owner_id, id).await?,
                        None => None,
                    },
                };
                let Some(current) = found else {
                    return Ok(DeliveryUpdate::UnknownSid);
                };
                let next = current.delivery_status.advance(status);
                let records_sid = current.provider_sid.is_none();
                if next.is_none() && !records_sid {
                    return Ok(DeliveryUpdate::Unchanged(current));
                }
                let status_now = next.unwrap_or(current.delivery_status);
                let failure = failure.filter(|_| next.is_some_and(DeliveryStatus::is_failure));
                let row = diesel::update(messages::table)
                    .filter(
                        messages::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(messages::id.eq(Uuid::from(current.id))),
                    )
                    .set((
                        messages::provider_sid.eq(&provider_sid),
                        messages::delivery_status.eq(status_now.as_str()),
                        messages::error_code.eq(failure.as_ref().and_then(|f| f.code).or(current.error_code)),
                        messages::error_message.eq(failure
                            .as_ref()
                            .and_then(|f| f.message.clone())
                            .or(current.error_message.clone())),
                    ))
                    .returning(FullMessageRow::as_returning())
                    .get_result(conn)
                    .await?;
                let message = Message::try_from(row)?;
                Ok::<_, TxError>(if next.is_some() {
                    DeliveryUpdate::Advanced(message)
                } else {
                    DeliveryUpdate::Unchanged(message)
                })
            })
            .await?;
        Ok(update)
    }

    async fn recent_turns(
        &self,
        owner_id: OwnerId,
        conversation_id: ConversationId,
        window: u32,
    ) -> Result<Vec<MessageTurn>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let exists: bool = diesel::select(diesel::dsl::exists(
                    conversations::table.filter(
                        conversations::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(conversations::id.eq(Uuid::from(conversation_id))),
                    ),
                ))
                .get_result(conn)
                .await?;
                if !exists {
                    return Err(TxError::Store(StoreError::NotFound));
                }
                let rows: Vec<(String, Option<String>, DateTime<Utc>)> = messages::table
                    .filter(
                        messages::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(messages::conversation_id.eq(Uuid::from(conversation_id))),
                    )
                    .order(messages::id.desc())
                    .limit(i64::from(window))
                    .select((messages::sender, messages::body, messages::created_at))
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        rows.into_iter()
            .rev()
            .map(|(sender, body, created_at)| {
                Ok(MessageTurn {
                    sender: sender.parse().map_err(|e| corrupt("messages.sender", e))?,
                    body: body.map(MessageBody::new).transpose().map_err(|e| corrupt("messages.body", e))?,
                    created_at,
                })
            })
            .collect()
    }

    async fn add_ai_result(
        &self,
        owner_id: OwnerId,
        message_id: MessageId,
        result: NewAiResult,
        at: DateTime<Utc>,
    ) -> Result<AiResult, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let conversation_id = message_conversation(conn, owner_id, message_id).await?;
                let row =
                    insert_ai_result(conn, owner_id, conversation_id.into(), message_id, result, at).await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        Ok(row.into())
    }

    async fn list_ai_results(
        &self,
        owner_id: OwnerId,
        message_id: MessageId,
    ) -> Result<Vec<AiResult>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                message_conversation(conn, owner_id, message_id).await?;
                let rows = ai_results::table
                    .filter(
                        ai_results::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(ai_results::message_id.eq(Uuid::from(message_id))),
                    )
                    .select(AiResultRow::as_select())
                    .order(ai_results::id.asc())
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
