//! Tenants, users and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::{ApiKey, ApiKeyId, NewApiKey, NewUser, Owner, OwnerId, Principal, User, UserId};
use ports::{NewOwnerWithAdmin, OwnerCreated, StoreError, TenantDirectory};
use uuid::Uuid;

use crate::error::{TxError, corrupt, map_diesel};
use crate::prepared::{Authenticate, PrincipalRow};
use crate::rows::{ApiKeyRow, OwnerRow, UserRow};
use crate::schema::{api_keys, owners, users};
use crate::{PgStore, set_tenant};

fn user_row(owner_id: OwnerId, user: &NewUser, at: DateTime<Utc>) -> UserRow {
    UserRow {
        owner_id: owner_id.into(),
        id: UserId::new_at(at).into(),
        name: user.name.clone(),
        email: user.email.as_str().to_owned(),
        role: user.role.as_str().to_owned(),
        active: true,
        created_at: at,
        updated_at: at,
    }
}

async fn insert_api_key(
    conn: &mut diesel_async::AsyncPgConnection,
    owner_id: OwnerId,
    key: &NewApiKey,
    at: DateTime<Utc>,
) -> Result<ApiKey, TxError> {
    let row = diesel::insert_into(api_keys::table)
        .values((
            api_keys::owner_id.eq(Uuid::from(owner_id)),
            api_keys::id.eq(Uuid::from(ApiKeyId::new_at(at))),
            api_keys::user_id.eq(Uuid::from(key.user_id)),
            api_keys::name.eq(&key.name),
            api_keys::prefix.eq(&key.prefix),
            api_keys::key_hash.eq(&key.hash),
            api_keys::created_at.eq(at),
            api_keys::updated_at.eq(at),
        ))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

#[async_trait]
impl TenantDirectory for PgStore {
    async fn create_owner(
        &self,
        input: NewOwnerWithAdmin,
        at: DateTime<Utc>,
    ) -> Result<OwnerCreated, StoreError> {
        let owner_id = OwnerId::new_at(at);
        let mut conn = self.conn().await?;
        let created = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let owner: Owner = diesel::insert_into(owners::table)
                    .values(OwnerRow {
                        id: owner_id.into(),
                        name: input.owner.name.clone(),
                        email: input.owner.email.as_str().to_owned(),
                        active: true,
                        created_at: at,
                        updated_at: at,
                    })
                    .returning(OwnerRow::as_returning())
                    .get_result(conn)
                    .await?
                    .try_into()?;
                let admin: User = diesel::insert_into(users::table)
                    .values(user_row(owner_id, &input.admin, at))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?
                    .try_into()?;
                let key = NewApiKey { user_id: admin.id, ..input.api_key.clone() };
                let api_key = insert_api_key(conn, owner_id, &key, at).await?;
                Ok::<_, TxError>(OwnerCreated { owner, admin, api_key })
            })
            .await?;
        Ok(created)
    }

    async fn get_owner(&self, owner_id: OwnerId) -> Result<Owner, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = owners::table
                    .filter(owners::id.eq(Uuid::from(owner_id)))
                    .select(OwnerRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn create_user(
        &self,
        owner_id: OwnerId,
        user: NewUser,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::insert_into(users::table)
                    .values(user_row(owner_id, &user, at))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_users(&self, owner_id: OwnerId) -> Result<Vec<User>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let rows = users::table
                    .filter(users::owner_id.eq(Uuid::from(owner_id)))
                    .order(users::id.asc())
                    .select(UserRow::as_select())
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_user(&self, owner_id: OwnerId, user_id: UserId) -> Result<User, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = users::table
                    .filter(users::owner_id.eq(Uuid::from(owner_id)).and(users::id.eq(Uuid::from(user_id))))
                    .select(UserRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn create_api_key(
        &self,
        owner_id: OwnerId,
        key: NewApiKey,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        let mut conn = self.conn().await?;
        let key = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                insert_api_key(conn, owner_id, &key, at).await
            })
            .await?;
        Ok(key)
    }

    async fn list_api_keys(&self, owner_id: OwnerId) -> Result<Vec<ApiKey>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let rows = api_keys::table
                    .filter(api_keys::owner_id.eq(Uuid::from(owner_id)))
                    .order(api_keys::id.desc())
                    .select(ApiKeyRow::as_select())
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_api_key(
        &self,
        owner_id: OwnerId,
        key_id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let this_key =
                    api_keys::owner_id.eq(Uuid::from(owner_id)).and(api_keys::id.eq(Uuid::from(key_id)));
                // Revoking twice keeps the first revocation time.
                diesel::update(api_keys::table)
                    .filter(this_key.and(api_keys::revoked_at.is_null()))
                    .set(api_keys::revoked_at.eq(at))
                    .execute(conn)
                    .await?;
                let row = api_keys::table.filter(this_key).select(ApiKeyRow::as_select()).first(conn).await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        Ok(row.into())
    }

    async fn owner_of_user(&self, user_id: UserId) -> Result<Option<OwnerId>, StoreError> {
        #[derive(QueryableByName)]
        struct OwnerOf {
            #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
            owner_id: Option<Uuid>,
        }
        let mut conn = self.conn().await?;
        let row: OwnerOf = diesel::sql_query("SELECT app_user_owner($1) AS owner_id")
            .bind::<SqlUuid, _>(Uuid::from(user_id))
            .get_result(&mut conn)
            .await
            .map_err(map_diesel)?;
        Ok(row.owner_id.map(OwnerId::from))
    }

    async fn authenticate(
        &self,
        key_hash: String,
        at: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<PrincipalRow> =
            Authenticate { key_hash, at }.get_result(&mut conn).await.optional().map_err(map_diesel)?;
        row.map(|row| {
            Ok(Principal {
                owner_id: row.owner_id.into(),
                user_id: row.user_id.into(),
                api_key_id: row.api_key_id.into(),
                role: row.role.parse().map_err(|e| corrupt("users.role", e))?,
            })
        })
        .transpose()
    }
}
