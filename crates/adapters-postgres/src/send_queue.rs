//! The outbound send queue. Jobs are claimed across tenants through
//! `app_claim_send_jobs` (`FOR UPDATE SKIP LOCKED` plus a lease with a fresh lease id), then
//! read as their tenant; every outcome names the lease id, so it applies only under the claim
//! that produced it (ADR 0014). `app_send_queue_depth` counts jobs across tenants for monitoring.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::pg::data_types::PgInterval;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Interval, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{ChannelAddress, Conversation, DeliveryStatus, Message, OwnerId, SendJob, SendLease};
use ports::{
    ChannelCredentials, ClaimedSend, DeliveryFailure, Recorded, SendQueue, SendQueueDepth, StoreError,
    Unsendable,
};
use uuid::Uuid;

use crate::error::{TxError, map_diesel};
use crate::rows::{ConversationRow, FullMessageRow};
use crate::schema::{conversations, messages, owners, send_jobs, twilio_accounts};
use crate::{PgStore, set_tenant};

/// A claim across tenants: the row and the token of this claim (send jobs and webhook
/// deliveries alike).
#[derive(QueryableByName)]
pub(crate) struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    pub owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The token of this claim (new at every claim, see migration 000009).
    #[diesel(sql_type = SqlUuid)]
    pub lease_id: Uuid,
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

impl SendJobRow {
    /// The job as claimed under `lease`.
    fn claimed(self, lease: SendLease) -> SendJob {
        SendJob {
            id: self.id.into(),
            owner_id: self.owner_id.into(),
            conversation_id: self.conversation_id.into(),
            message_id: self.message_id.into(),
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            created_at: self.created_at,
            lease,
        }
    }
}

type ThisJob = diesel::dsl::And<
    diesel::dsl::And<diesel::dsl::Eq<send_jobs::owner_id, Uuid>, diesel::dsl::Eq<send_jobs::id, Uuid>>,
    diesel::dsl::Eq<send_jobs::lease_id, Uuid>,
>;

/// The job, as long as the claim that produced `job` still holds it: every outcome is fenced
/// by it, so a worker whose lease lapsed (and whose job was claimed again) changes nothing.
fn this_claim(job: &SendJob) -> ThisJob {
    send_jobs::owner_id
        .eq(Uuid::from(job.owner_id))
        .and(send_jobs::id.eq(Uuid::from(job.id)))
        .and(send_jobs::lease_id.eq(Uuid::from(job.lease)))
}

type ItsMessage =
    diesel::dsl::And<diesel::dsl::Eq<messages::owner_id, Uuid>, diesel::dsl::Eq<messages::id, Uuid>>;

/// The message `job` sends.
fn its_message(job: &SendJob) -> ItsMessage {
    messages::owner_id.eq(Uuid::from(job.owner_id)).and(messages::id.eq(Uuid::from(job.message_id)))
}

const fn recorded(rows: usize) -> Recorded {
    if rows == 0 { Recorded::LeaseLost } else { Recorded::Applied }
}

/// The message's status and provider id, locked for the outcome being recorded.
async fn lock_message(
    conn: &mut AsyncPgConnection,
    job: &SendJob,
) -> Result<(DeliveryStatus, Option<String>), TxError> {
    let (status, sid): (String, Option<String>) = messages::table
        .filter(its_message(job))
        .select((messages::delivery_status, messages::provider_sid))
        .for_update()
        .first(conn)
        .await?;
    Ok((status.parse().unwrap_or(DeliveryStatus::Queued), sid))
}

/// Why none of the tenant's active accounts may send from `from`: one that owns it is
/// deactivated, or none owns it.
async fn why_no_account(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    from: &ChannelAddress,
) -> Result<Unsendable, TxError> {
    let inactive: Vec<(String, Vec<String>)> = twilio_accounts::table
        .filter(twilio_accounts::owner_id.eq(Uuid::from(owner_id)).and(twilio_accounts::active.eq(false)))
        .select((twilio_accounts::account_sid, twilio_accounts::phone_numbers))
        .load(conn)
        .await?;
    let wanted = from.to_twilio();
    Ok(match inactive.into_iter().find(|(_, numbers)| numbers.contains(&wanted)) {
        Some((account, _)) => Unsendable::AccountInactive { account, from: from.to_string() },
        None => Unsendable::NoAccount { from: from.to_string() },
    })
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
        let job = send_jobs::table
            .filter(send_jobs::owner_id.eq(row.owner_id).and(send_jobs::id.eq(row.id)))
            .select(SendJobRow::as_select())
            .first(conn)
            .await?
            .claimed(SendLease::from(row.lease_id));
        let message: Message = messages::table
            .filter(messages::owner_id.eq(row.owner_id).and(messages::id.eq(Uuid::from(job.message_id))))
            .select(FullMessageRow::as_select())
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
        // A deactivated tenant sends nothing, whatever its accounts say (its API keys and
        // webhooks are refused already; its queue must not keep talking for it).
        let tenant_active: bool =
            owners::table.filter(owners::id.eq(row.owner_id)).select(owners::active).first(conn).await?;
        let credentials = if tenant_active {
            match self.load_credentials(conn, owner_id, |account| account.owns(&from)).await? {
                Some(c) => Ok(ChannelCredentials {
                    sender_pool: c.account.messaging_service_sid.map(String::from),
                    account: c.account.account_sid.into(),
                    secret: c.auth_token,
                }),
                None => Err(why_no_account(conn, owner_id, &from).await?),
            }
        } else {
            Err(Unsendable::TenantInactive)
        };
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
                    diesel::sql_query("SELECT owner_id, id, lease_id FROM app_claim_send_jobs($1, $2, $3)")
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
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.conn().await?;
        let recorded = conn
            .transaction(async |conn| {
                set_tenant(conn, job.owner_id).await?;
                let (current, recorded_sid) = lock_message(conn, &job).await?;
                // Recorded whoever holds the job now: Twilio took the message, and a provider id
                // on the message is what keeps every later claim from sending it again. The first
                // id recorded stays (a status callback may have recorded it already, or, after a
                // lease that lapsed mid-send, the other worker's acceptance).
                if let Some(recorded_sid) = recorded_sid.as_deref().filter(|sid| *sid != provider_sid) {
                    tracing::warn!(
                        message_id = %job.message_id,
                        %recorded_sid,
                        %provider_sid,
                        "the message was accepted twice; the first provider id is kept"
                    );
                }
                let next = current.advance(status).unwrap_or(current);
                if recorded_sid.is_none() || next != current {
                    diesel::update(messages::table)
                        .filter(its_message(&job))
                        .set((
                            messages::provider_sid.eq(recorded_sid.unwrap_or(provider_sid)),
                            messages::delivery_status.eq(next.as_str()),
                        ))
                        .execute(conn)
                        .await?;
                }
                let dropped = diesel::delete(send_jobs::table.filter(this_claim(&job))).execute(conn).await?;
                Ok::<_, TxError>(recorded(dropped))
            })
            .await?;
        Ok(recorded)
    }

    async fn schedule_retry(
        &self,
        job: SendJob,
        retry_at: DateTime<Utc>,
        error: String,
        _at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.conn().await?;
        let recorded = conn
            .transaction(async |conn| {
                set_tenant(conn, job.owner_id).await?;
                let updated = diesel::update(send_jobs::table.filter(this_claim(&job)))
                    .set((
                        send_jobs::attempts.eq(send_jobs::attempts + 1),
                        send_jobs::run_at.eq(retry_at),
                        send_jobs::last_error.eq(&error),
                        // The claim ends here: nothing more may be recorded under it.
                        send_jobs::lease_id.eq(None::<Uuid>),
                    ))
                    .execute(conn)
                    .await?;
                Ok::<_, TxError>(recorded(updated))
            })
            .await?;
        Ok(recorded)
    }

    async fn mark_failed(
        &self,
        job: SendJob,
        failure: DeliveryFailure,
        _at: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.conn().await?;
        let recorded = conn
            .transaction(async |conn| {
                set_tenant(conn, job.owner_id).await?;
                let dropped = diesel::delete(send_jobs::table.filter(this_claim(&job))).execute(conn).await?;
                if dropped == 0 {
                    return Ok(Recorded::LeaseLost);
                }
                // Forward only, like every status change: a message a callback already reported
                // delivered (it was accepted after all) stays delivered.
                let (current, _) = lock_message(conn, &job).await?;
                if current.advance(DeliveryStatus::Failed).is_some() {
                    diesel::update(messages::table)
                        .filter(its_message(&job))
                        .set((
                            messages::delivery_status.eq(DeliveryStatus::Failed.as_str()),
                            messages::error_code.eq(failure.code),
                            messages::error_message.eq(&failure.message),
                        ))
                        .execute(conn)
                        .await?;
                }
                Ok::<_, TxError>(Recorded::Applied)
            })
            .await?;
        Ok(recorded)
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
