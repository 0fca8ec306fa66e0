//! Tenants' features.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::{Feature, FeatureId, FeatureName, FeatureUpdate, OwnerId};
use ports::{FeatureStore, StoreError};
use uuid::Uuid;

use crate::error::TxError;
use crate::rows::FeatureRow;
use crate::schema::features;
use crate::{PgStore, set_tenant};

#[async_trait]
impl FeatureStore for PgStore {
    async fn list_features(&self, owner_id: OwnerId) -> Result<Vec<Feature>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let rows = features::table
                    .filter(features::owner_id.eq(Uuid::from(owner_id)))
                    .order(features::name.asc())
                    .select(FeatureRow::as_select())
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_feature(&self, owner_id: OwnerId, name: FeatureName) -> Result<Feature, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = features::table
                    .filter(features::owner_id.eq(Uuid::from(owner_id)).and(features::name.eq(name.as_str())))
                    .select(FeatureRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn put_feature(
        &self,
        owner_id: OwnerId,
        update: FeatureUpdate,
        at: DateTime<Utc>,
    ) -> Result<Feature, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::insert_into(features::table)
                    .values((
                        features::owner_id.eq(Uuid::from(owner_id)),
                        features::id.eq(Uuid::from(FeatureId::new_at(at))),
                        features::name.eq(update.name.as_str()),
                        features::enabled.eq(update.enabled),
                        features::config.eq(&update.config),
                        features::created_at.eq(at),
                        features::updated_at.eq(at),
                    ))
                    .on_conflict((features::owner_id, features::name))
                    .do_update()
                    .set((
                        features::enabled.eq(excluded(features::enabled)),
                        features::config.eq(excluded(features::config)),
                    ))
                    .returning(FeatureRow::as_returning())
                    // The tenant's 65th feature is refused as `LimitReached` (see `error`).
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        self.accounts.invalidate(Some(owner_id));
        row.try_into()
    }

    async fn set_feature_enabled(
        &self,
        owner_id: OwnerId,
        name: FeatureName,
        enabled: bool,
        _at: DateTime<Utc>,
    ) -> Result<Feature, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::update(features::table)
                    .filter(features::owner_id.eq(Uuid::from(owner_id)).and(features::name.eq(name.as_str())))
                    .set(features::enabled.eq(enabled))
                    .returning(FeatureRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        self.accounts.invalidate(Some(owner_id));
        row.try_into()
    }
}
