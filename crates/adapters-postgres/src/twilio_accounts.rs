//! Tenants' Twilio accounts. The encrypted token column is selected only by the two
//! `credentials_*` methods; every other read uses `TwilioAccountRow`, which does not have it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{
    AccountSid, ChannelAddress, NewTwilioAccount, OwnerId, TwilioAccount, TwilioAccountId, TwilioCredentials,
};
use ports::{StoreError, TwilioAccountStore};
use uuid::Uuid;

use crate::error::{TxError, map_diesel};
use crate::rows::TwilioAccountRow;
use crate::schema::twilio_accounts;
use crate::{PgStore, set_tenant};

#[derive(QueryableByName)]
struct AccountRef {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
}

impl PgStore {
    /// Reads an account with its token inside a transaction already scoped to the tenant.
    pub(crate) async fn load_credentials(
        &self,
        conn: &mut AsyncPgConnection,
        owner_id: OwnerId,
        filter: impl Fn(&TwilioAccount) -> bool + Send,
    ) -> Result<Option<TwilioCredentials>, TxError> {
        let rows: Vec<(TwilioAccountRow, Vec<u8>)> = twilio_accounts::table
            .filter(twilio_accounts::owner_id.eq(Uuid::from(owner_id)).and(twilio_accounts::active))
            .order(twilio_accounts::id.asc())
            .select((TwilioAccountRow::as_select(), twilio_accounts::auth_token_encrypted))
            .load(conn)
            .await?;
        for (row, sealed) in rows {
            let account = TwilioAccount::try_from(row)?;
            if filter(&account) {
                let auth_token = self.cipher.decrypt(&sealed).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "auth token of account {} cannot be decrypted with the configured key",
                        account.id
                    ))
                })?;
                return Ok(Some(TwilioCredentials { account, auth_token }));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl TwilioAccountStore for PgStore {
    async fn create_twilio_account(
        &self,
        owner_id: OwnerId,
        account: NewTwilioAccount,
        at: DateTime<Utc>,
    ) -> Result<TwilioAccount, StoreError> {
        let sealed = self.cipher.encrypt(&account.auth_token);
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::insert_into(twilio_accounts::table)
                    .values((
                        twilio_accounts::owner_id.eq(Uuid::from(owner_id)),
                        twilio_accounts::id.eq(Uuid::from(TwilioAccountId::new_at(at))),
                        twilio_accounts::account_sid.eq(account.account_sid.as_str()),
                        twilio_accounts::auth_token_encrypted.eq(&sealed),
                        twilio_accounts::friendly_name.eq(&account.friendly_name),
                        twilio_accounts::phone_numbers.eq(&account.phone_numbers),
                        twilio_accounts::created_at.eq(at),
                        twilio_accounts::updated_at.eq(at),
                    ))
                    .returning(TwilioAccountRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn list_twilio_accounts(&self, owner_id: OwnerId) -> Result<Vec<TwilioAccount>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let rows = twilio_accounts::table
                    .filter(twilio_accounts::owner_id.eq(Uuid::from(owner_id)))
                    .order(twilio_accounts::id.asc())
                    .select(TwilioAccountRow::as_select())
                    .load(conn)
                    .await?;
                Ok::<_, TxError>(rows)
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
    ) -> Result<TwilioAccount, StoreError> {
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = twilio_accounts::table
                    .filter(
                        twilio_accounts::owner_id
                            .eq(Uuid::from(owner_id))
                            .and(twilio_accounts::id.eq(Uuid::from(id))),
                    )
                    .select(TwilioAccountRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn credentials_by_account_sid(
        &self,
        account_sid: AccountSid,
    ) -> Result<Option<TwilioCredentials>, StoreError> {
        let mut conn = self.conn().await?;
        let found: Option<AccountRef> =
            diesel::sql_query("SELECT owner_id, id FROM app_twilio_account_by_sid($1)")
                .bind::<Text, _>(account_sid.as_str())
                .get_result(&mut conn)
                .await
                .optional()
                .map_err(map_diesel)?;
        let Some(found) = found else { return Ok(None) };
        let owner_id = OwnerId::from(found.owner_id);
        let credentials = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                self.load_credentials(conn, owner_id, |account| account.account_sid == account_sid).await
            })
            .await?;
        Ok(credentials)
    }

    async fn credentials_for_number(
        &self,
        owner_id: OwnerId,
        business: ChannelAddress,
    ) -> Result<Option<TwilioCredentials>, StoreError> {
        let mut conn = self.conn().await?;
        let credentials = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                self.load_credentials(conn, owner_id, |account| account.owns(&business)).await
            })
            .await?;
        Ok(credentials)
    }
}
