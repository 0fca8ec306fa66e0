//! Conversations: lookups, listings and lifecycle transitions. A transition locks the row
//! (`FOR UPDATE`), applies the domain rule and writes the result in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{
    AiResultId, CLOSURE_DETECTION_KIND, Conversation, ConversationId, ConversationStatus, MessageId,
    NewAiResult, OwnerId, PendingClosure,
};
use ports::{
    ClosureVerdict, ConversationFilter, ConversationStore, DetectedClosure, Page, PageRequest, StoreError,
    SweepBatch,
};
use uuid::Uuid;

use crate::error::TxError;
use crate::group_commit::{self, CloseDetected, ProposeClosure};
use crate::messages::insert_ai_result;
use crate::prepared::SaveConversation;
use crate::rows::ConversationRow;
use crate::schema::conversations;
use crate::{PgStore, set_tenant};

/// Locks and reads one conversation of the tenant.
pub(crate) async fn lock_conversation(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    id: ConversationId,
) -> Result<Conversation, TxError> {
    let row = conversations::table
        .filter(conversations::owner_id.eq(Uuid::from(owner_id)).and(conversations::id.eq(Uuid::from(id))))
        .select(ConversationRow::as_select())
        .for_update()
        .first(conn)
        .await?;
    Ok(row.try_into()?)
}

/// Writes a conversation back after a domain transition, and replaces it with the row as
/// stored (the `updated_at` trigger and timestamp precision decide the final values), so what a
/// method returns is exactly what a later read gives.
pub(crate) async fn save_conversation(
    conn: &AsyncPgConnection,
    conversation: &mut Conversation,
) -> Result<(), TxError> {
    let mut conn = conn;
    let row = ConversationRow::from(&*conversation);
    let stored: ConversationRow = SaveConversation::new(&row).get_result(&mut conn).await?;
    *conversation = stored.try_into()?;
    Ok(())
}

/// Moves the sweep's bound of a conversation to `until` (nothing else changes).
async fn lease_for_sweep(
    conn: &mut AsyncPgConnection,
    conversation: &Conversation,
    until: DateTime<Utc>,
) -> Result<(), TxError> {
    diesel::update(conversations::table)
        .filter(
            conversations::owner_id
                .eq(Uuid::from(conversation.owner_id))
                .and(conversations::id.eq(Uuid::from(conversation.id))),
        )
        .set(conversations::idle_deadline_at.eq(until))
        .execute(conn)
        .await?;
    Ok(())
}

/// The tenant's active conversation between `candidate`'s numbers, locked, or `candidate`
/// itself once stored. An active one already past its expiry is closed as `expired` first, so
/// a customer writing after expiry starts a new conversation even if no sweep ran yet.
pub(crate) async fn open_or_lock_active(
    conn: &mut AsyncPgConnection,
    candidate: &Conversation,
    at: DateTime<Utc>,
) -> Result<(Conversation, bool), TxError> {
    for _ in 0..2 {
        if let Some(mut active) = find_active(conn, candidate).await? {
            if !active.is_expired(at) {
                return Ok((active, false));
            }
            active.close(ConversationStatus::Expired, "expired before a new message arrived", at)?;
            save_conversation(conn, &mut active).await?;
        }
        // ON CONFLICT DO NOTHING: when another transaction opened the same conversation first,
        // this waits for it and inserts nothing; the loop then finds the winner.
        let inserted: Option<ConversationRow> = diesel::insert_into(conversations::table)
            .values(ConversationRow::from(candidate))
            .on_conflict_do_nothing()
            .returning(ConversationRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(stored) = inserted {
            return Ok((stored.try_into()?, true));
        }
    }
    // Opened and closed again by others between each look: contention, which passes, like a
    // serialization failure.
    Err(StoreError::Unavailable("the active conversation kept changing; retry".to_owned()).into())
}

async fn find_active(
    conn: &mut AsyncPgConnection,
    candidate: &Conversation,
) -> Result<Option<Conversation>, TxError> {
    let active: Vec<&str> = ConversationStatus::ACTIVE.iter().map(|s| s.as_str()).collect();
    let row = conversations::table
        .filter(
            conversations::owner_id
                .eq(Uuid::from(candidate.owner_id))
                .and(conversations::channel.eq(candidate.channel.as_str()))
                .and(conversations::business_phone.eq(candidate.business_phone.as_str()))
                .and(conversations::customer_phone.eq(candidate.customer_phone.as_str()))
                .and(conversations::status.eq_any(active)),
        )
        .select(ConversationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Conversation::try_from).transpose()?)
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[async_trait]
impl ConversationStore for PgStore {
    async fn open_or_get_active(&self, candidate: Conversation) -> Result<(Conversation, bool), StoreError> {
        let mut conn = self.conn().await?;
        let at = candidate.created_at;
        let opened = conn
            .transaction(async |conn| {
                set_tenant(conn, candidate.owner_id).await?;
                open_or_lock_active(conn, &candidate, at).await
            })
            .await?;
        Ok(opened)
    }

    async fn get_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = conversations::table
                    .filter(
                        conversations::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(conversations::id.eq(Uuid::from(id))),
                    )
                    .select(ConversationRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_conversations(
        &self,
        owner_id: OwnerId,
        filter: ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut query = conversations::table
                    .filter(
                        conversations::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(conversations::status.eq_any(&statuses)),
                    )
                    .select(ConversationRow::as_select())
                    .order(conversations::id.desc())
                    .limit(i64::from(page.limit) + 1)
                    .into_boxed();
                if let Some(cursor) = page.after {
                    query = query.filter(conversations::id.lt(cursor.0));
                }
                Ok::<_, TxError>(query.load(conn).await?)
            })
            .await?;
        let conversations = rows.into_iter().map(Conversation::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(conversations, page.limit, |c| c.id.as_uuid()))
    }

    async fn close_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        status: ConversationStatus,
        reason: String,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let mut conn = self.conn().await?;
        let closed = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut conversation = lock_conversation(conn, owner_id, id).await?;
                conversation.close(status, reason, at)?;
                save_conversation(conn, &mut conversation).await?;
                Ok::<_, TxError>(conversation)
            })
            .await?;
        Ok(closed)
    }

    async fn close_detected(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        verdict: ClosureVerdict,
        at: DateTime<Utc>,
    ) -> Result<DetectedClosure, StoreError> {
        let ClosureVerdict { message_id, confirms_pending, reason, assessment } = verdict;
        let kind = if assessment.kind.is_empty() {
            CLOSURE_DETECTION_KIND.to_owned()
        } else {
            assessment.kind.clone()
        };
        if confirms_pending {
            // The sweeper's confirmation of a pending closure: off the hot path, so the
            // domain's rule in a locked transaction.
            let mut conn = self.conn().await?;
            let closed = conn
                .transaction(async |conn| {
                    set_tenant(conn, owner_id).await?;
                    let mut conversation = lock_conversation(conn, owner_id, id).await?;
                    conversation.close_detected(message_id, true, reason, at)?;
                    save_conversation(conn, &mut conversation).await?;
                    let assessment = NewAiResult { kind, ..assessment };
                    let row = insert_ai_result(conn, owner_id, id, message_id, assessment, at).await?;
                    Ok::<_, TxError>(DetectedClosure { conversation, ai_result: row.into() })
                })
                .await?;
            return Ok(closed);
        }
        // One statement (an immediate close runs on the webhook's hot path, so it is grouped
        // with others that arrive together): the rule of Conversation::close_detected, with the
        // assessment, both or neither.
        let query = CloseDetected {
            owner_id: owner_id.into(),
            conversation_id: id.into(),
            message_id: message_id.into(),
            reason,
            result_id: AiResultId::new_at(at).into(),
            kind,
            model: assessment.model,
            content: assessment.content,
            score: assessment.score,
            at,
        };
        let (conversation, closed, message_in_conversation, message_is_latest, ai_result) =
            group_commit::run(self.grouped.as_ref().map(|g| &g.closes), &self.pool, query).await?;
        let conversation = Conversation::try_from(conversation.ok_or(StoreError::NotFound)?)?;
        match ai_result {
            Some(row) if closed => Ok(DetectedClosure { conversation, ai_result: row.into() }),
            _ if !message_in_conversation => Err(StoreError::NotFound),
            _ if conversation.status.is_terminal() => {
                Err(StoreError::ConversationClosed(conversation.status))
            }
            _ if !message_is_latest => Err(StoreError::ClosureSuperseded),
            _ => Err(StoreError::Corrupt("app_close_detected closed nothing without a reason".to_owned())),
        }
    }

    async fn propose_closure(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        pending: PendingClosure,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        // One statement: it follows every inbound message that looks like an ending.
        let query = ProposeClosure {
            owner_id: owner_id.into(),
            conversation_id: id.into(),
            message_id: pending.message_id.into(),
            closes_at: pending.closes_at,
            score: pending.score,
            reason: pending.reason,
            at,
        };
        let (conversation, proposed) =
            group_commit::run(self.grouped.as_ref().map(|g| &g.proposals), &self.pool, query).await?;
        let conversation = Conversation::try_from(conversation.ok_or(StoreError::NotFound)?)?;
        if proposed {
            Ok(conversation)
        } else if conversation.status.is_terminal() {
            Err(StoreError::ConversationClosed(conversation.status))
        } else {
            Err(StoreError::ClosureSuperseded)
        }
    }

    async fn drop_pending_closure(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        message_id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let mut conn = self.conn().await?;
        let conversation = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut conversation = lock_conversation(conn, owner_id, id).await?;
                // Saved either way: the sweep's bound moves back to the real deadline.
                conversation.drop_pending_closure(message_id, at);
                save_conversation(conn, &mut conversation).await?;
                Ok::<_, TxError>(conversation)
            })
            .await?;
        Ok(conversation)
    }

    async fn extend_conversation(
        &self,
        owner_id: OwnerId,
        id: ConversationId,
        by_seconds: i64,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let mut conn = self.conn().await?;
        let extended = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut conversation = lock_conversation(conn, owner_id, id).await?;
                conversation.extend(by_seconds, at)?;
                save_conversation(conn, &mut conversation).await?;
                Ok::<_, TxError>(conversation)
            })
            .await?;
        Ok(extended)
    }

    async fn sweep_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<SweepBatch, StoreError> {
        let mut conn = self.conn().await?;
        let batch = conn
            .transaction(async |conn| {
                let due: Vec<DueRow> =
                    diesel::sql_query("SELECT owner_id, id FROM app_claim_due_conversations($1, $2)")
                        .bind::<Timestamptz, _>(now)
                        .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
                        .load(conn)
                        .await?;
                let mut batch = SweepBatch { claimed: due.len(), ..SweepBatch::default() };
                for row in due {
                    let owner_id = OwnerId::from(row.owner_id);
                    set_tenant(conn, owner_id).await?;
                    let mut conversation = lock_conversation(conn, owner_id, row.id.into()).await?;
                    let Some(status) = conversation.due_closure(now) else {
                        if conversation.due_pending_closure(now).is_some() {
                            // Leased to this sweeper: the bound moves to the lease's end, so
                            // no other sweeper takes it meanwhile, and it is due again then if
                            // this one never resolves it.
                            lease_for_sweep(conn, &conversation, now + lease).await?;
                            batch.closures_due.push(conversation);
                            continue;
                        }
                        // Claimed by its bound, but a message came since (inbound messages
                        // leave the bound behind) or a pending closure went: move the bound to
                        // the real deadline.
                        save_conversation(conn, &mut conversation).await?;
                        continue;
                    };
                    let reason = match status {
                        ConversationStatus::Expired => "expired".to_owned(),
                        _ => format!("no message for {} seconds", conversation.idle_timeout_seconds),
                    };
                    conversation.close(status, reason, now)?;
                    save_conversation(conn, &mut conversation).await?;
                    batch.closed.push(conversation);
                }
                Ok::<_, TxError>(batch)
            })
            .await?;
        Ok(batch)
    }
}
