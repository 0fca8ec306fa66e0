//! The outbound send queue. Jobs are claimed across tenants through
//! `app_claim_send_jobs` (`FOR UPDATE SKIP LOCKED` plus a lease), then read as their tenant;
//! `app_send_queue_depth` counts them across tenants for monitoring.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::pg::data_types::PgInterval;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Interval, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{ChannelAddress, Conversation, DeliveryStatus, Message, OwnerId, SendJob};
use ports::{ChannelCredentials, ClaimedSend, DeliveryFailure, SendQueue, SendQueueDepth, StoreError};
use uuid::Uuid;

use crate::error::{TxError, map_diesel};
use crate::rows::{ConversationRow, MessageRow};
use crate::schema::{conversations, messages, send_jobs};
use crate::{PgStore, set_tenant};

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct DepthRow {
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    deferred: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_due_at: Option<DateTime<Utc>>,
}

impl From<DepthRow> for SendQueueDepth {
    fn from(row: DepthRow) -> Self {
        Self {
            // Counts are never negative; `unsigned_abs` converts without a fallible cast.
            due: row.due.unsigned_abs(),
            deferred: row.deferred.unsigned_abs(),
            oldest_due_at: row.oldest_due_at,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = send_jobs, check_for_backend(diesel::pg::Pg))]
struct SendJobRow {
    owner_id: Uuid,
    id: Uuid,
    conversation_id: Uuid,
    message_id: Uuid,
    attempts: i32,
    created_at: DateTime<Utc>,
}

impl From<SendJobRow> for SendJob {
    fn from(row: SendJobRow) -> Self {
        Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            conversation_id: row.conversation_id.into(),
            message_id: row.message_id.into(),
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            created_at: row.created_at,
        }
    }
}

fn this_job(
    job: &SendJob,
) -> diesel::dsl::And<diesel::dsl::Eq<send_jobs::owner_id, Uuid>, diesel::dsl::Eq<send_jobs::id, Uuid>> {
    send_jobs::owner_id.eq(Uuid::from(job.owner_id)).and(send_jobs::id.eq(Uuid::from(job.id)))
}

impl PgStore {
    /// Reads what a worker needs to send one claimed job, as the job's tenant.
    async fn load_claim(
        &self,
        conn: &mut AsyncPgConnection,
        row: &ClaimedRow,
    ) -> Result<ClaimedSend, TxError> {
        let owner_id = OwnerId::from(row.owner_id);
        set_tenant(conn, owner_id).await?;
        let job: SendJob = send_jobs::table
            .filter(send_jobs::owner_id.eq(row.owner_id).and(send_jobs::id.eq(row.id)))
            .select(SendJobRow::as_select())
            .first(conn)
            .await?
            .into();
        let message: Message = messages::table
            .filter(messages::owner_id.eq(row.owner_id).and(messages::id.eq(Uuid::from(job.message_id))))
            .select(MessageRow::as_select())
            .first(conn)
            .await?
            .try_into()?;
        // A plain read: the numbers never change, and locking the conversation here
        // would let two workers whose batches share conversations deadlock.
        let conversation: Conversation = conversations::table
            .filter(
                conversations::owner_id
                    .eq(row.owner_id)
                    .and(conversations::id.eq(Uuid::from(job.conversation_id))),
            )
            .select(ConversationRow::as_select())
            .first(conn)
            .await?
            .try_into()?;
        let from = ChannelAddress::new(conversation.channel, conversation.business_phone.clone());
        let to = ChannelAddress::new(conversation.channel, conversation.customer_phone.clone());
        let credentials = self
            .load_credentials(conn, owner_id, |account| account.owns(&from))
            .await?
            .map(|c| ChannelCredentials { account: c.account.account_sid.into(), secret: c.auth_token });
        Ok(ClaimedSend { job, message, from, to, credentials })
    }
}

#[async_trait]
impl SendQueue for PgStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedSend>, StoreError> {
        let lease = PgInterval::from_microseconds(lease.num_microseconds().unwrap_or(i64::MAX));
        let mut conn = self.conn().await?;
        let claimed = conn
            .transaction(async |conn| {
                let due: Vec<ClaimedRow> =
                    diesel::sql_query("SELECT owner_id, id FROM app_claim_send_jobs($1, $2, $3)")
                        .bind::<Timestamptz, _>(now)
                        .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
                        .bind::<Interval, _>(lease)
                        .load(conn)
                        .await?;
                let mut claimed = Vec::with_capacity(due.len());
                for row in due {
                    // A savepoint per job: one job whose data cannot be read (a token sealed with
                    // another key, a hand-edited row) is logged and stays leased, rather than
                    // failing every batch that claims it first.
                    match conn.transaction(async |conn| self.load_claim(conn, &row).await).await {
                        Ok(claim) => claimed.push(claim),
                        Err(TxError::Store(StoreError::Corrupt(reason))) => tracing::error!(
                            owner_id = %row.owner_id,
                            job_id = %row.id,
                            %reason,
                            "send job skipped: its data cannot be read"
                        ),
                        Err(other) => return Err(other),
                    }
                }
                Ok::<_, TxError>(claimed)
            })
            .await?;
        Ok(claimed)
    }

    async fn mark_sent(
        &self,
        job: SendJob,
        provider_sid: String,
        status: DeliveryStatus,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            set_tenant(conn, job.owner_id).await?;
            let current: String = messages::table
                .filter(
                    messages::owner_id
                        .eq(Uuid::from(job.owner_id))
                        .and(messages::id.eq(Uuid::from(job.message_id))),
                )
                .select(messages::delivery_status)
                .for_update()
                .first(conn)
                .await?;
            let current: DeliveryStatus = current.parse().unwrap_or(DeliveryStatus::Queued);
            let next = current.advance(status).unwrap_or(current);
            diesel::update(messages::table)
                .filter(
                    messages::owner_id
                        .eq(Uuid::from(job.owner_id))
                        .and(messages::id.eq(Uuid::from(job.message_id))),
                )
                .set((messages::provider_sid.eq(&provider_sid), messages::delivery_status.eq(next.as_str())))
                .execute(conn)
                .await?;
            diesel::delete(send_jobs::table.filter(this_job(&job))).execute(conn).await?;
            Ok::<_, TxError>(())
        })
        .await?;
        Ok(())
    }

    async fn schedule_retry(
        &self,
        job: SendJob,
        retry_at: DateTime<Utc>,
        error: String,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            set_tenant(conn, job.owner_id).await?;
            diesel::update(send_jobs::table.filter(this_job(&job)))
                .set((
                    send_jobs::attempts.eq(send_jobs::attempts + 1),
                    send_jobs::run_at.eq(retry_at),
                    send_jobs::last_error.eq(&error),
                ))
                .execute(conn)
                .await?;
            Ok::<_, TxError>(())
        })
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        job: SendJob,
        failure: DeliveryFailure,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            set_tenant(conn, job.owner_id).await?;
            diesel::update(messages::table)
                .filter(
                    messages::owner_id
                        .eq(Uuid::from(job.owner_id))
                        .and(messages::id.eq(Uuid::from(job.message_id))),
                )
                .set((
                    messages::delivery_status.eq(DeliveryStatus::Failed.as_str()),
                    messages::error_code.eq(failure.code),
                    messages::error_message.eq(&failure.message),
                ))
                .execute(conn)
                .await?;
            diesel::delete(send_jobs::table.filter(this_job(&job))).execute(conn).await?;
            Ok::<_, TxError>(())
        })
        .await?;
        Ok(())
    }

    async fn depth(&self, now: DateTime<Utc>) -> Result<SendQueueDepth, StoreError> {
        let mut conn = self.conn().await?;
        let row: DepthRow =
            diesel::sql_query("SELECT due, deferred, oldest_due_at FROM app_send_queue_depth($1)")
                .bind::<Timestamptz, _>(now)
                .get_result(&mut conn)
                .await
                .map_err(map_diesel)?;
        Ok(row.into())
    }
}
