//! Tenants' Twilio accounts. The encrypted token column is selected only by the two
//! `credentials_*` methods; every other read uses `TwilioAccountRow`, which does not have it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{
    AccountSid, Channel, ChannelAddress, ConversationStatus, Feature, MessagingServiceSid, NewTwilioAccount,
    OwnerId, TenantSettings, TwilioAccount, TwilioAccountChanges, TwilioAccountId, TwilioCredentials,
};
use ports::{StoreError, TwilioAccountDeletion, TwilioAccountStore, WebhookAccount, WebhookAccounts};
use uuid::Uuid;

use crate::account_cache::cached_lookup;
use crate::error::{TxError, map_diesel};
use crate::prepared::{TwilioAccountBySid, WebhookAccountRow};
use crate::rows::{FeatureRow, TwilioAccountRow};
use crate::schema::{conversations, twilio_accounts};
use crate::{PgStore, set_tenant};

type ThisAccount = diesel::dsl::And<
    diesel::dsl::Eq<twilio_accounts::owner_id, Uuid>,
    diesel::dsl::Eq<twilio_accounts::id, Uuid>,
>;

/// The tenant's account `id`.
fn this_account(owner_id: OwnerId, id: TwilioAccountId) -> ThisAccount {
    twilio_accounts::owner_id.eq(Uuid::from(owner_id)).and(twilio_accounts::id.eq(Uuid::from(id)))
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
                return Ok(Some(self.decrypt(account, &sealed)?));
            }
        }
        Ok(None)
    }

    fn unseal(&self, row: TwilioAccountRow, sealed: &[u8]) -> Result<TwilioCredentials, StoreError> {
        self.decrypt(TwilioAccount::try_from(row)?, sealed)
    }

    fn decrypt(&self, account: TwilioAccount, sealed: &[u8]) -> Result<TwilioCredentials, StoreError> {
        let auth_token = self.cipher.decrypt(sealed, account.owner_id, account.id).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "auth token of account {} cannot be decrypted with any configured key",
                account.id
            ))
        })?;
        Ok(TwilioCredentials { account, auth_token })
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
        let id = TwilioAccountId::new_at(at);
        let sealed = self.cipher.encrypt(&account.auth_token, owner_id, id);
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let row = diesel::insert_into(twilio_accounts::table)
                    .values((
                        twilio_accounts::owner_id.eq(Uuid::from(owner_id)),
                        twilio_accounts::id.eq(Uuid::from(id)),
                        twilio_accounts::account_sid.eq(account.account_sid.as_str()),
                        twilio_accounts::auth_token_encrypted.eq(&sealed),
                        twilio_accounts::friendly_name.eq(&account.friendly_name),
                        twilio_accounts::phone_numbers.eq(&account.phone_numbers),
                        twilio_accounts::messaging_service_sid
                            .eq(account.messaging_service_sid.as_ref().map(MessagingServiceSid::as_str)),
                        twilio_accounts::created_at.eq(at),
                        twilio_accounts::updated_at.eq(at),
                    ))
                    .returning(TwilioAccountRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        self.accounts.invalidate(Some(owner_id));
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
                    .filter(this_account(owner_id, id))
                    .select(TwilioAccountRow::as_select())
                    .first(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        row.try_into()
    }

    async fn update_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
        changes: TwilioAccountChanges,
        at: DateTime<Utc>,
    ) -> Result<TwilioAccount, StoreError> {
        let changeset = AccountChangeset {
            friendly_name: changes.friendly_name,
            auth_token_encrypted: changes.auth_token.map(|token| self.cipher.encrypt(&token, owner_id, id)),
            phone_numbers: changes.phone_numbers,
            active: changes.active,
            messaging_service_sid: changes.messaging_service_sid.map(|sid| sid.map(String::from)),
            updated_at: at,
        };
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                // The change notification (a trigger on every write to the table) tells the
                // other instances' webhook caches; this one's is told below.
                let row = diesel::update(twilio_accounts::table)
                    .filter(this_account(owner_id, id))
                    .set(&changeset)
                    .returning(TwilioAccountRow::as_returning())
                    .get_result(conn)
                    .await?;
                Ok::<_, TxError>(row)
            })
            .await?;
        self.accounts.invalidate(Some(owner_id));
        row.try_into()
    }

    async fn delete_twilio_account(
        &self,
        owner_id: OwnerId,
        id: TwilioAccountId,
    ) -> Result<TwilioAccountDeletion, StoreError> {
        let mut conn = self.conn().await?;
        let deletion = conn
            .transaction(async |conn| {
                set_tenant(conn, owner_id).await?;
                let this = || this_account(owner_id, id);
                // Locked: a concurrent change of its numbers waits for the decision.
                let numbers: Vec<String> = twilio_accounts::table
                    .filter(this())
                    .select(twilio_accounts::phone_numbers)
                    .for_update()
                    .first(conn)
                    .await?;
                let active_conversations = active_conversations_on(conn, owner_id, &numbers).await?;
                if active_conversations > 0 {
                    return Ok(TwilioAccountDeletion::InUse { active_conversations });
                }
                diesel::delete(twilio_accounts::table.filter(this())).execute(conn).await?;
                Ok::<_, TxError>(TwilioAccountDeletion::Deleted)
            })
            .await?;
        self.accounts.invalidate(Some(owner_id));
        Ok(deletion)
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

/// The columns a change may write; `None` leaves a column alone (`Some(None)` clears the label).
#[derive(AsChangeset)]
#[diesel(table_name = twilio_accounts, check_for_backend(diesel::pg::Pg))]
struct AccountChangeset {
    friendly_name: Option<Option<String>>,
    auth_token_encrypted: Option<Vec<u8>>,
    phone_numbers: Option<Vec<String>>,
    active: Option<bool>,
    messaging_service_sid: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

/// Active conversations of the tenant on any of `numbers` (Twilio's form: `whatsapp:+…` is the
/// number on WhatsApp, a bare `+…` on SMS), as one count.
async fn active_conversations_on(
    conn: &mut AsyncPgConnection,
    owner_id: OwnerId,
    numbers: &[String],
) -> Result<u64, TxError> {
    let (whatsapp, sms): (Vec<_>, Vec<_>) = numbers
        .iter()
        .filter_map(|raw| ChannelAddress::parse(raw).ok())
        .partition(|address| address.channel == Channel::Whatsapp);
    let phones = |addresses: Vec<ChannelAddress>| -> Vec<String> {
        addresses.into_iter().map(|address| address.number.to_string()).collect()
    };
    let active: Vec<&str> = ConversationStatus::ACTIVE.iter().map(|status| status.as_str()).collect();
    let count: i64 = conversations::table
        .filter(conversations::owner_id.eq(Uuid::from(owner_id)))
        .filter(conversations::status.eq_any(active))
        .filter(
            conversations::channel
                .eq(Channel::Sms.as_str())
                .and(conversations::business_phone.eq_any(phones(sms)))
                .or(conversations::channel
                    .eq(Channel::Whatsapp.as_str())
                    .and(conversations::business_phone.eq_any(phones(whatsapp)))),
        )
        .count()
        .get_result(conn)
        .await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

#[async_trait]
impl WebhookAccounts for PgStore {
    /// Through the webhook-account cache (see `account_cache`): fresh for at most the
    /// configured TTL while the database answers; the last known account when it does not.
    async fn webhook_account(
        &self,
        account_sid: &AccountSid,
    ) -> Result<Option<Arc<WebhookAccount>>, StoreError> {
        cached_lookup(&self.accounts, account_sid, self.load_webhook_account(account_sid)).await
    }
}

impl PgStore {
    /// The account a webhook names, from the database.
    async fn load_webhook_account(
        &self,
        account_sid: &AccountSid,
    ) -> Result<Option<Arc<WebhookAccount>>, StoreError> {
        let mut conn = self.conn().await?;
        // One statement, no tenant transaction: it runs before the tenant is known.
        let found: Option<WebhookAccountRow> =
            TwilioAccountBySid { account_sid: account_sid.as_str().to_owned() }
                .get_result(&mut conn)
                .await
                .optional()
                .map_err(map_diesel)?;
        let Some((row, sealed, features)) = found else { return Ok(None) };
        let features: Vec<FeatureRow> = serde_json::from_value(features)
            .map_err(|e| StoreError::Corrupt(format!("features of account {}: {e}", account_sid.as_str())))?;
        let features = features.into_iter().map(Feature::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Arc::new(WebhookAccount {
            credentials: self.unseal(row, &sealed)?,
            settings: TenantSettings::from_features(&features),
        })))
    }
}
