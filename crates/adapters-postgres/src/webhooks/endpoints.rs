//! `WebhookEndpointStore`: the tenant's administration of its endpoints, under its scope.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{
    NewWebhookEndpoint, OwnerId, SecretString, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint,
    WebhookEndpointChanges, WebhookEndpointId,
};
use ports::{Page, PageRequest, StoreError, WebhookEndpointStore};
use uuid::Uuid;

use super::rows::{AttemptRow, DeliveryRow, EndpointRow, delivery};
use crate::error::TxError;
use crate::schema::{webhook_deliveries, webhook_delivery_attempts, webhook_endpoints};
use crate::{PgStore, set_tenant};

type ThisEndpoint = diesel::dsl::And<
    diesel::dsl::Eq<webhook_endpoints::owner_id, Uuid>,
    diesel::dsl::Eq<webhook_endpoints::id, Uuid>,
>;

fn this_endpoint(owner_id: OwnerId, id: WebhookEndpointId) -> ThisEndpoint {
    webhook_endpoints::owner_id.eq(Uuid::from(owner_id)).and(webhook_endpoints::id.eq(Uuid::from(id)))
}

#[derive(QueryableByName)]
struct EndRow {
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// The position after the tenant's readable events: an endpoint starting there receives what
/// is written from then on.
async fn events_end(conn: &mut AsyncPgConnection, owner_id: OwnerId) -> Result<EndRow, TxError> {
    Ok(diesel::sql_query("SELECT txid, seq FROM app_events_end($1)")
        .bind::<SqlUuid, _>(Uuid::from(owner_id))
        .get_result(conn)
        .await?)
}

/// What a PATCH writes; `None` leaves the column alone.
#[derive(AsChangeset, Default)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointChangeset {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Option<Option<String>>,
    enabled: Option<bool>,
    disabled_reason: Option<Option<String>>,
    consecutive_failures: Option<i32>,
    cursor_txid: Option<i64>,
    cursor_seq: Option<i64>,
    updated_at: Option<DateTime<Utc>>,
}

fn type_names(types: &[domain::EventType]) -> Vec<String> {
    types.iter().map(|t| t.as_str().to_owned()).collect()
}

/// Marks the endpoint's pending deliveries failed: a disabled endpoint is not retried, and
/// what it missed is retried by hand after it is enabled again.
pub(super) async fn fail_pending(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    endpoint_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), TxError> {
    diesel::update(webhook_deliveries::table)
        .filter(webhook_deliveries::owner_id.eq(Uuid::from(owner_id)))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .filter(webhook_deliveries::state.eq("pending"))
        .set((
            webhook_deliveries::state.eq("failed"),
            webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
            webhook_deliveries::lease_id.eq(None::<Uuid>),
            webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::updated_at.eq(at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

async fn attempts_of(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    ids: Vec<Uuid>,
) -> Result<Vec<AttemptRow>, TxError> {
    Ok(webhook_delivery_attempts::table
        .filter(webhook_delivery_attempts::owner_id.eq(Uuid::from(owner_id)))
        .filter(webhook_delivery_attempts::delivery_id.eq_any(ids))
        .order((webhook_delivery_attempts::delivery_id, webhook_delivery_attempts::number))
        .select(AttemptRow::as_select())
        .load(conn)
        .await?)
}

#[async_trait]
impl WebhookEndpointStore for PgStore {
    async fn create_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        endpoint: NewWebhookEndpoint,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let id = WebhookEndpointId::new_at(at);
        let sealed = self.cipher.seal(&endpoint.secret, owner_id, id.into());
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let end = events_end(conn, owner_id).await?;
                let row = diesel::insert_into(webhook_endpoints::table)
                    .values((
                        webhook_endpoints::owner_id.eq(Uuid::from(owner_id)),
                        webhook_endpoints::id.eq(Uuid::from(id)),
                        webhook_endpoints::url.eq(endpoint.url.as_str()),
                        webhook_endpoints::event_types.eq(type_names(&endpoint.event_types)),
                        webhook_endpoints::description.eq(&endpoint.description),
                        webhook_endpoints::secret_encrypted.eq(&sealed),
                        webhook_endpoints::cursor_txid.eq(end.txid),
                        webhook_endpoints::cursor_seq.eq(end.seq),
                        webhook_endpoints::created_at.eq(at),
                        webhook_endpoints::updated_at.eq(at),
                    ))
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_webhook_endpoints(
        &self,
        owner_id: OwnerId,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let mut query = webhook_endpoints::table
                    .filter(webhook_endpoints::owner_id.eq(Uuid::from(owner_id)))
                    .order(webhook_endpoints::id.asc())
                    .limit(i64::from(page.limit) + 1)
                    .select(EndpointRow::as_select())
                    .into_boxed();
                if let Some(after) = page.after {
                    query = query.filter(webhook_endpoints::id.gt(after.0));
                }
                Ok::<_, TxError>(query.load(conn).await?)
            })
            .await?;
        let endpoints = rows.into_iter().map(WebhookEndpoint::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(endpoints, page.limit, |e| e.id.into()))
    }

    async fn get_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = webhook_endpoints::table
                    .filter(this_endpoint(owner_id, id))
                    .select(EndpointRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn update_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
        changes: WebhookEndpointChanges,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let was_enabled: bool = webhook_endpoints::table
                    .filter(this_endpoint(owner_id, id))
                    .select(webhook_endpoints::enabled)
                    .for_update()
                    .first(conn)
                    .await?;
                let mut set = EndpointChangeset {
                    url: changes.url.as_ref().map(|url| url.as_str().to_owned()),
                    event_types: changes.event_types.as_deref().map(type_names),
                    description: changes.description.clone(),
                    enabled: changes.enabled,
                    updated_at: Some(at),
                    ..EndpointChangeset::default()
                };
                match changes.enabled {
                    // Enabled again: a fresh start, from the events written from now on.
                    Some(true) if !was_enabled => {
                        let end = events_end(conn, owner_id).await?;
                        set.disabled_reason = Some(None);
                        set.consecutive_failures = Some(0);
                        set.cursor_txid = Some(end.txid);
                        set.cursor_seq = Some(end.seq);
                    }
                    Some(false) if was_enabled => fail_pending(conn, owner_id, id.into(), at).await?,
                    _ => {}
                }
                let row = diesel::update(webhook_endpoints::table.filter(this_endpoint(owner_id, id)))
                    .set(&set)
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn delete_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let deleted = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let deleted = diesel::delete(webhook_endpoints::table.filter(this_endpoint(owner_id, id)))
                    .execute(conn)
                    .await?;
                Ok::<_, TxError>(deleted)
            })
            .await?;
        if deleted == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn rotate_webhook_secret(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
        secret: SecretString,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let sealed = self.cipher.seal(&secret, owner_id, id.into());
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let current: Vec<u8> = webhook_endpoints::table
                    .filter(this_endpoint(owner_id, id))
                    .select(webhook_endpoints::secret_encrypted)
                    .for_update()
                    .first(conn)
                    .await?;
                let row = diesel::update(webhook_endpoints::table.filter(this_endpoint(owner_id, id)))
                    .set((
                        webhook_endpoints::secret_encrypted.eq(&sealed),
                        webhook_endpoints::previous_secret_encrypted.eq(Some(current)),
                        webhook_endpoints::previous_secret_expires_at.eq(Some(previous_until)),
                        webhook_endpoints::updated_at.eq(at),
                    ))
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_webhook_deliveries(
        &self,
        owner_id: OwnerId,
        endpoint_id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<WebhookDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        let (rows, mut attempts) = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                webhook_endpoints::table
                    .filter(this_endpoint(owner_id, endpoint_id))
                    .select(webhook_endpoints::id)
                    .first::<Uuid>(conn)
                    .await?;
                let mut query = webhook_deliveries::table
                    .filter(webhook_deliveries::owner_id.eq(Uuid::from(owner_id)))
                    .filter(webhook_deliveries::endpoint_id.eq(Uuid::from(endpoint_id)))
                    .order(webhook_deliveries::id.desc())
                    .limit(i64::from(page.limit) + 1)
                    .select(DeliveryRow::as_select())
                    .into_boxed();
                if let Some(after) = page.after {
                    query = query.filter(webhook_deliveries::id.lt(after.0));
                }
                let rows: Vec<DeliveryRow> = query.load(conn).await?;
                let attempts = attempts_of(conn, owner_id, rows.iter().map(|r| r.id).collect()).await?;
                Ok::<_, TxError>((rows, attempts))
            })
            .await?;
        let deliveries =
            rows.into_iter().map(|row| delivery(row, &mut attempts)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(deliveries, page.limit, |d| d.id.into()))
    }

    async fn retry_webhook_delivery(
        &self,
        owner_id: OwnerId,
        endpoint_id: WebhookEndpointId,
        delivery_id: WebhookDeliveryId,
        at: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError> {
        let mut conn = self.conn().await?;
        let (row, mut attempts) = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                // A fresh schedule from now; a claim in flight loses its lease (its outcome is
                // then not recorded), so the retry is not undone by it.
                let row = diesel::update(webhook_deliveries::table)
                    .filter(webhook_deliveries::owner_id.eq(Uuid::from(owner_id)))
                    .filter(webhook_deliveries::endpoint_id.eq(Uuid::from(endpoint_id)))
                    .filter(webhook_deliveries::id.eq(Uuid::from(delivery_id)))
                    .set((
                        webhook_deliveries::state.eq("pending"),
                        webhook_deliveries::next_attempt_at.eq(Some(at)),
                        webhook_deliveries::schedule_started_at.eq(at),
                        webhook_deliveries::lease_id.eq(None::<Uuid>),
                        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                        webhook_deliveries::updated_at.eq(at),
                    ))
                    .returning(DeliveryRow::as_returning())
                    .get_result(conn)
                    .await?;
                let attempts = attempts_of(conn, owner_id, vec![row.id]).await?;
                // Every instance's worker looks at once (delivered at commit).
                diesel::sql_query(format!("SELECT pg_notify('{}', '')", crate::WEBHOOK_DELIVERIES_CHANNEL))
                    .execute(conn)
                    .await?;
                Ok::<_, TxError>((row, attempts))
            })
            .await?;
        delivery(row, &mut attempts)
    }
}
