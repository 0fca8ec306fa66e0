//! Send quotas: the messages a tenant queued per UTC day and month (`send_usage`, migration
//! 000015), counted inside the transaction that queues the message.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OwnerId, QuotaPeriod, SendQuota};
use ports::{SendCounts, StoreError};
use uuid::Uuid;

use crate::error::TxError;
use crate::schema::send_usage;

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    count: i32,
}

/// Counts one message against each period of `quota`, or refuses it when a period's quota is
/// used up. One upsert per period: the insert of the period's first message, or else the
/// increment, which takes the row's lock and re-checks `count < quota` on the newest version
/// of the row, so concurrent transactions of any instance never count past the quota. An
/// unlimited period is counted all the same (`GET /api/v1/usage` shows it).
///
/// # Errors
/// [`StoreError::QuotaExceeded`] naming the first period that is used up (the caller's
/// transaction then rolls back whatever was counted before it); database errors.
pub(crate) async fn count_send(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    quota: SendQuota,
    at: DateTime<Utc>,
) -> Result<(), TxError> {
    for period in QuotaPeriod::ALL {
        let limit = quota.of(period);
        let exceeded = || StoreError::QuotaExceeded {
            period,
            limit: limit.unwrap_or(0),
            resets_at: period.resets_at(at),
        };
        // A first message inserts count = 1, which a quota of 0 must refuse before the write.
        if limit == Some(0) {
            return Err(exceeded().into());
        }
        let counted: Vec<Counted> = diesel::sql_query(
            "INSERT INTO send_usage AS u (owner_id, period, period_start, count) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (owner_id, period, period_start) DO UPDATE SET count = u.count + 1 \
             WHERE $4::integer IS NULL OR u.count < $4::integer \
             RETURNING u.count",
        )
        .bind::<SqlUuid, _>(Uuid::from(owner_id))
        .bind::<Text, _>(period.as_str())
        .bind::<Date, _>(period.start(at))
        .bind::<Nullable<Integer>, _>(limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
        .load(conn)
        .await?;
        if counted.is_empty() {
            return Err(exceeded().into());
        }
    }
    Ok(())
}

/// The tenant's counts of the periods holding `at` (0 for a period with no message yet).
pub(crate) async fn counts(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    at: DateTime<Utc>,
) -> Result<SendCounts, TxError> {
    let rows: Vec<(String, NaiveDate, i32)> = send_usage::table
        .filter(send_usage::owner_id.eq(Uuid::from(owner_id)))
        .filter(
            (send_usage::period.eq(QuotaPeriod::Day.as_str()))
                .and(send_usage::period_start.eq(QuotaPeriod::Day.start(at)))
                .or(send_usage::period
                    .eq(QuotaPeriod::Month.as_str())
                    .and(send_usage::period_start.eq(QuotaPeriod::Month.start(at)))),
        )
        .select((send_usage::period, send_usage::period_start, send_usage::count))
        .load(conn)
        .await?;
    let mut counts = SendCounts::default();
    for (period, _, count) in rows {
        let count = u32::try_from(count).unwrap_or(0);
        if period == QuotaPeriod::Day.as_str() {
            counts.day = count;
        } else {
            counts.month = count;
        }
    }
    Ok(counts)
}
