//! `WebhookDeliveryQueue`: fan-out, claims and depth across tenants through the
//! `SECURITY DEFINER` functions of migration `000014`; each claimed delivery is then read, and
//! its outcome written, as its tenant. Every outcome names the claim's lease id, so a worker
//! whose lease lapsed cannot overwrite what the next holder does (as for send jobs, ADR 0014).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::data_types::PgInterval;
use diesel::prelude::*;
use diesel::sql_types::{
    BigInt, Bytea, Integer, Interval, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{EventType, OwnerId, PublishedEvent, SecretString};
use ports::{
    AttemptRecord, AttemptRecorded, ClaimedDelivery, DeliveryNext, StoreError, WebhookDeliveryQueue,
    WebhookQueueDepth,
};
use uuid::Uuid;

use super::endpoints::fail_pending;
use super::rows::stored_url;
use crate::error::{TxError, corrupt, map_diesel};
use crate::schema::{webhook_deliveries, webhook_delivery_attempts, webhook_endpoints};
use crate::send_queue::ClaimedRow;
use crate::{PgStore, set_tenant};

#[derive(QueryableByName)]
struct Created {
    #[diesel(sql_type = BigInt)]
    created: i64,
}

/// A claimed delivery with what sending it needs, read as its tenant.
#[derive(QueryableByName)]
struct LoadedRow {
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    schedule_started_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Bytea)]
    secret_encrypted: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret: Option<Vec<u8>>,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = SqlUuid)]
    conversation_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
}

#[derive(QueryableByName)]
struct DepthRow {
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    scheduled: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    disabled_endpoints: i64,
}

fn count(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl PgStore {
    /// Reads one claimed delivery as its tenant; `None` when the claim was lost meanwhile.
    async fn load_delivery_claim(
        &self,
        claim: &ClaimedRow,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let owner_id = OwnerId::from_uuid(claim.owner_id);
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::sql_query(
                    "SELECT d.endpoint_id, d.attempts, d.schedule_started_at, e.url, e.secret_encrypted,
                            CASE WHEN e.previous_secret_expires_at > $4 THEN e.previous_secret_encrypted END
                                AS previous_secret,
                            ev.id AS event_id, ev.type AS event_type, ev.conversation_id, ev.occurred_at, ev.data
                       FROM webhook_deliveries d
                       JOIN webhook_endpoints e ON e.owner_id = d.owner_id AND e.id = d.endpoint_id
                       JOIN events ev ON ev.owner_id = d.owner_id AND ev.id = d.event_id
                      WHERE d.owner_id = $1 AND d.id = $2 AND d.lease_id = $3",
                )
                .bind::<SqlUuid, _>(claim.owner_id)
                .bind::<SqlUuid, _>(claim.id)
                .bind::<SqlUuid, _>(claim.lease_id)
                .bind::<Timestamptz, _>(now)
                .get_result::<LoadedRow>(conn)
                .await
                .optional()?;
                Ok::<_, TxError>(row)
            })
            .await?;
        let Some(row) = row else { return Ok(None) };
        let open = |sealed: &[u8]| {
            self.cipher.unseal(sealed, owner_id, row.endpoint_id).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the secret of webhook endpoint {} cannot be decrypted with any configured key",
                    row.endpoint_id
                ))
            })
        };
        let mut secrets: Vec<SecretString> = vec![open(&row.secret_encrypted)?];
        if let Some(previous) = &row.previous_secret {
            secrets.push(open(previous)?);
        }
        let event_type: EventType = row.event_type.parse().map_err(|e| corrupt("event type", e))?;
        Ok(Some(ClaimedDelivery {
            owner_id,
            delivery_id: claim.id.into(),
            endpoint_id: row.endpoint_id.into(),
            lease_id: claim.lease_id,
            attempt: u32::try_from(row.attempts).unwrap_or(0) + 1,
            schedule_started_at: row.schedule_started_at,
            url: stored_url(&row.url)?,
            secrets,
            event: PublishedEvent {
                id: row.event_id.into(),
                owner_id,
                event_type,
                conversation_id: row.conversation_id.into(),
                occurred_at: row.occurred_at,
                data: row.data,
            },
        }))
    }
}

/// Writes the endpoint's side of an attempt: the failure count, and disabling when due. The
/// reason, when this attempt disabled it.
async fn record_on_endpoint(
    conn: &mut AsyncPgConnection,
    claim: &ClaimedDelivery,
    record: &AttemptRecord,
) -> Result<Option<String>, TxError> {
    let owner = Uuid::from(claim.owner_id);
    let endpoint = Uuid::from(claim.endpoint_id);
    let this = webhook_endpoints::owner_id.eq(owner).and(webhook_endpoints::id.eq(endpoint));
    if record.outcome.is_success() {
        diesel::update(webhook_endpoints::table.filter(this))
            .set(webhook_endpoints::consecutive_failures.eq(0))
            .execute(conn)
            .await?;
        return Ok(None);
    }
    let failures: i32 = diesel::update(webhook_endpoints::table.filter(this))
        .set(webhook_endpoints::consecutive_failures.eq(webhook_endpoints::consecutive_failures + 1))
        .returning(webhook_endpoints::consecutive_failures)
        .get_result(conn)
        .await?;
    let reason = if record.next == DeliveryNext::GiveUp {
        Some(format!(
            "the retry schedule of event {} ran out after {} attempts without a 2xx answer",
            claim.event.id, claim.attempt
        ))
    } else if u32::try_from(failures).unwrap_or(0) >= record.disable_after_failures {
        Some(format!("{failures} attempts in a row failed, the last: {}", describe(&record.outcome)))
    } else {
        None
    };
    if let Some(reason) = &reason {
        diesel::update(webhook_endpoints::table.filter(this.and(webhook_endpoints::enabled)))
            .set((
                webhook_endpoints::enabled.eq(false),
                webhook_endpoints::disabled_reason.eq(Some(reason)),
                webhook_endpoints::updated_at.eq(record.attempt.attempted_at),
            ))
            .execute(conn)
            .await?;
        fail_pending(conn, claim.owner_id, endpoint, record.attempt.attempted_at).await?;
    }
    Ok(reason)
}

fn describe(outcome: &domain::AttemptOutcome) -> String {
    match outcome {
        domain::AttemptOutcome::Succeeded { status } | domain::AttemptOutcome::HttpError { status } => {
            format!("HTTP {status}")
        }
        domain::AttemptOutcome::TransportError { error } => error.clone(),
    }
}

#[async_trait]
impl WebhookDeliveryQueue for PgStore {
    async fn fan_out_events(&self, now: DateTime<Utc>, limit: usize) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let row: Created = diesel::sql_query("SELECT app_webhook_fan_out($1, $2) AS created")
            .bind::<Timestamptz, _>(now)
            .bind::<Integer, _>(count(limit))
            .get_result(&mut conn)
            .await
            .map_err(map_diesel)?;
        Ok(row.created.unsigned_abs())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        per_endpoint: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let claims: Vec<ClaimedRow> = {
            let mut conn = self.conn().await?;
            diesel::sql_query(
                "SELECT owner_id, id, lease_id FROM app_claim_webhook_deliveries($1, $2, $3, $4)",
            )
            .bind::<Timestamptz, _>(now)
            .bind::<Integer, _>(count(limit))
            .bind::<Integer, _>(count(per_endpoint))
            .bind::<Interval, _>(PgInterval::from_microseconds(lease.num_microseconds().unwrap_or(i64::MAX)))
            .load(&mut conn)
            .await
            .map_err(map_diesel)?
        };
        let mut claimed = Vec::with_capacity(claims.len());
        for claim in &claims {
            if let Some(delivery) = self.load_delivery_claim(claim, now).await? {
                claimed.push(delivery);
            }
        }
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        claim: &ClaimedDelivery,
        record: AttemptRecord,
    ) -> Result<AttemptRecorded, StoreError> {
        let owner = Uuid::from(claim.owner_id);
        let at = record.attempt.attempted_at;
        let (state, next_at) = match record.next {
            DeliveryNext::Succeeded => ("succeeded", None),
            DeliveryNext::RetryAt(when) => ("pending", Some(when)),
            DeliveryNext::GiveUp => ("failed", None),
        };
        let attempt = &record.attempt;
        let mut conn = self.conn().await?;
        let recorded = conn
            .transaction(async |conn| {
                set_tenant(conn, claim.owner_id).await?;
                let held = diesel::update(webhook_deliveries::table)
                    .filter(webhook_deliveries::owner_id.eq(owner))
                    .filter(webhook_deliveries::id.eq(Uuid::from(claim.delivery_id)))
                    .filter(webhook_deliveries::lease_id.eq(claim.lease_id))
                    .set((
                        webhook_deliveries::state.eq(state),
                        webhook_deliveries::attempts.eq(i32::try_from(claim.attempt).unwrap_or(i32::MAX)),
                        webhook_deliveries::next_attempt_at.eq(next_at),
                        webhook_deliveries::lease_id.eq(None::<Uuid>),
                        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                        webhook_deliveries::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?;
                if held == 0 {
                    return Ok::<_, TxError>(AttemptRecorded::LeaseLost);
                }
                diesel::insert_into(webhook_delivery_attempts::table)
                    .values((
                        webhook_delivery_attempts::owner_id.eq(owner),
                        webhook_delivery_attempts::delivery_id.eq(Uuid::from(claim.delivery_id)),
                        webhook_delivery_attempts::number
                            .eq(i32::try_from(claim.attempt).unwrap_or(i32::MAX)),
                        webhook_delivery_attempts::attempted_at.eq(at),
                        webhook_delivery_attempts::status_code.eq(attempt.status_code.map(i32::from)),
                        webhook_delivery_attempts::error.eq(&attempt.error),
                        webhook_delivery_attempts::latency_ms
                            .eq(i32::try_from(attempt.latency_ms).unwrap_or(i32::MAX)),
                        webhook_delivery_attempts::response_excerpt.eq(&attempt.response_excerpt),
                        webhook_delivery_attempts::next_attempt_at.eq(next_at),
                    ))
                    // A lapsed lease claimed again makes the same attempt number twice: the
                    // first recorded stands.
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                let disabled = record_on_endpoint(conn, claim, &record).await?;
                Ok(AttemptRecorded::Recorded { disabled })
            })
            .await?;
        Ok(recorded)
    }

    async fn webhook_queue_depth(&self, now: DateTime<Utc>) -> Result<WebhookQueueDepth, StoreError> {
        let mut conn = self.conn().await?;
        let row: DepthRow = diesel::sql_query(
            "SELECT due, scheduled, oldest_due_at, disabled_endpoints FROM app_webhook_queue_depth($1)",
        )
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)
        .await
        .map_err(map_diesel)?;
        Ok(WebhookQueueDepth {
            due: row.due.unsigned_abs(),
            scheduled: row.scheduled.unsigned_abs(),
            oldest_due_at: row.oldest_due_at,
            disabled_endpoints: row.disabled_endpoints.unsigned_abs(),
        })
    }
}
