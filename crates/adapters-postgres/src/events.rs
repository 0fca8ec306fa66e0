//! The outbox's read side (`EventLog`). The write side is the database's own: triggers on
//! `conversations` and `messages` insert each event in the transaction of its change
//! (migration `000013_events_outbox`, ADR 0018), so no code path here writes events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::{ConversationId, EventId, EventType, OwnerId, PublishedEvent};
use ports::{EventFilter, EventLog, EventPosition, StoreError, StoredEvent};
use uuid::Uuid;

use crate::error::{TxError, map_diesel};
use crate::{PgStore, set_tenant};

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = SqlUuid)]
    conversation_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    occurred_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let event_type = row
            .r#type
            .parse::<EventType>()
            .map_err(|e| StoreError::Internal(format!("events.type of {}: {e}", row.id)))?;
        Ok(Self {
            event: PublishedEvent {
                id: EventId::from_uuid(row.id),
                owner_id: OwnerId::from_uuid(row.owner_id),
                event_type,
                conversation_id: ConversationId::from_uuid(row.conversation_id),
                occurred_at: row.occurred_at,
                data: row.data,
            },
            position: EventPosition { txid: row.txid, seq: row.seq },
        })
    }
}

#[derive(QueryableByName)]
struct PositionRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    txid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
}

impl PositionRow {
    fn position(self) -> Option<EventPosition> {
        Some(EventPosition { txid: self.txid?, seq: self.seq? })
    }
}

#[derive(QueryableByName)]
struct Pruned {
    #[diesel(sql_type = BigInt)]
    pruned: i64,
}

/// Positions start above every real one's predecessor: `(0, 0)` is before all events.
const ORIGIN: EventPosition = EventPosition { txid: 0, seq: 0 };

#[async_trait]
impl EventLog for PgStore {
    async fn events_after(
        &self,
        owner_id: OwnerId,
        after: Option<EventPosition>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Option<EventPosition>), StoreError> {
        let from = after.unwrap_or(ORIGIN);
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let mut conn = self.conn().await?;
        let rows: Vec<EventRow> = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let rows = diesel::sql_query(
                    "SELECT owner_id, id, type, conversation_id, occurred_at, txid, seq, data
                       FROM app_events_after($1, $2, $3, $4)",
                )
                .bind::<SqlUuid, _>(Uuid::from(owner_id))
                .bind::<BigInt, _>(from.txid)
                .bind::<BigInt, _>(from.seq)
                .bind::<Integer, _>(limit)
                .load(conn)
                .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        let reached = rows.last().map(|row| EventPosition { txid: row.txid, seq: row.seq }).or(after);
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let stored = StoredEvent::try_from(row)?;
            if filter.admits(&stored.event) {
                events.push(stored);
            }
        }
        Ok((events, reached))
    }

    async fn event_position(
        &self,
        owner_id: OwnerId,
        id: EventId,
    ) -> Result<Option<EventPosition>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<PositionRow> = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::sql_query("SELECT txid, seq FROM events WHERE owner_id = $1 AND id = $2")
                    .bind::<SqlUuid, _>(Uuid::from(owner_id))
                    .bind::<SqlUuid, _>(Uuid::from(id))
                    .get_result(conn)
                    .await
                    .optional()?;
                Ok::<_, TxError>(row)
            })
            .await?;
        Ok(row.and_then(PositionRow::position))
    }

    async fn latest_position(&self, owner_id: OwnerId) -> Result<Option<EventPosition>, StoreError> {
        let mut conn = self.conn().await?;
        let row: PositionRow = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                // The readable end (see app_events_after): positions of transactions still
                // running, or newer, are read later, from here.
                let row = diesel::sql_query(
                    "SELECT txid, seq FROM events
                      WHERE owner_id = $1 AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                      ORDER BY txid DESC, seq DESC LIMIT 1",
                )
                .bind::<SqlUuid, _>(Uuid::from(owner_id))
                .get_result::<PositionRow>(conn)
                .await
                .optional()?
                .unwrap_or(PositionRow { txid: None, seq: None });
                Ok::<_, TxError>(row)
            })
            .await?;
        Ok(row.position())
    }

    async fn prune_events(&self, before: DateTime<Utc>, limit: usize) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let row: Pruned = diesel::sql_query("SELECT app_prune_events($1, $2) AS pruned")
            .bind::<Timestamptz, _>(before)
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
            .get_result(&mut conn)
            .await
            .map_err(map_diesel)?;
        Ok(u64::try_from(row.pruned).unwrap_or(0))
    }
}
