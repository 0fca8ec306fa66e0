//! `conversa keys rotate`: re-seals every tenant's Twilio auth token, and every webhook
//! endpoint's signing secrets, under the current key, so the keys it replaced can leave the
//! configuration (ADR 0016).
//!
//! It runs as the schema owner, across tenants, through the two `SECURITY DEFINER` functions of
//! migration `000012` (row-level security keeps the owner out of the rows otherwise). Pages of
//! accounts are locked while they are re-sealed, so a token changed through the API meanwhile
//! waits for the page instead of being overwritten. Running it again changes nothing: tokens
//! already under the current key are left as they are.

use diesel::sql_types::{Bytea, Integer, Nullable, Uuid as SqlUuid};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{OwnerId, TwilioAccountId, WebhookEndpointId};
use ports::StoreError;
use uuid::Uuid;

use crate::crypto::{Resealed, TokenCipher};
use crate::error::TxError;

/// Accounts re-sealed per transaction: bounds how long a page's rows stay locked.
const PAGE: i32 = 200;

/// What a rotation found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRotationReport {
    /// Accounts looked at (every tenant's).
    pub accounts: u64,
    /// Tokens re-sealed under the current key (they were under a previous key, or in the
    /// format without a key id).
    pub resealed: u64,
    /// Tokens already under the current key, left alone.
    pub already_current: u64,
    /// Accounts whose token no configured key opens, left alone: `(owner_id, id)`.
    pub unreadable: Vec<(OwnerId, TwilioAccountId)>,
    /// Webhook endpoints looked at (every tenant's).
    pub webhook_endpoints: u64,
    /// Endpoints whose secrets were re-sealed.
    pub webhook_secrets_resealed: u64,
    /// Endpoints with a secret no configured key opens, left alone.
    pub webhook_secrets_unreadable: Vec<(OwnerId, WebhookEndpointId)>,
}

#[derive(QueryableByName)]
struct SealedSecretsRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bytea)]
    secret_encrypted: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret_encrypted: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bytea)]
    auth_token_encrypted: Vec<u8>,
}

/// Re-seals every stored token under `cipher`'s current key, on the database at `owner_url`
/// (the schema owner's URL: the role that ran the migrations).
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached; [`StoreError::Internal`]
/// when the role may not run the rotation functions. Pages re-sealed before a failure stay
/// re-sealed (run it again to finish).
pub async fn rotate_token_keys(
    owner_url: &str,
    cipher: &TokenCipher,
) -> Result<KeyRotationReport, StoreError> {
    let mut conn = AsyncPgConnection::establish(owner_url)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot connect as the schema owner: {e}")))?;
    let mut report = KeyRotationReport::default();
    let mut after: Option<(Uuid, Uuid)> = None;
    loop {
        let last = conn.transaction(async |conn| reseal_page(conn, cipher, after, &mut report).await).await?;
        match last {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    let mut after: Option<(Uuid, Uuid)> = None;
    while let Some(last) =
        conn.transaction(async |conn| reseal_secrets_page(conn, cipher, after, &mut report).await).await?
    {
        after = Some(last);
    }
    tracing::info!(
        key_id = cipher.key_id(),
        accounts = report.accounts,
        resealed = report.resealed,
        unreadable = report.unreadable.len(),
        "token keys rotated"
    );
    Ok(report)
}

/// Re-seals the page after `after`; the last account of the page, `None` past the end.
async fn reseal_page(
    conn: &mut AsyncPgConnection,
    cipher: &TokenCipher,
    after: Option<(Uuid, Uuid)>,
    report: &mut KeyRotationReport,
) -> Result<Option<(Uuid, Uuid)>, TxError> {
    let rows: Vec<SealedRow> =
        sql_query("SELECT owner_id, id, auth_token_encrypted FROM app_sealed_twilio_tokens($1, $2, $3)")
            .bind::<Nullable<SqlUuid>, _>(after.map(|(owner, _)| owner))
            .bind::<Nullable<SqlUuid>, _>(after.map(|(_, id)| id))
            .bind::<Integer, _>(PAGE)
            .load(conn)
            .await?;
    for row in &rows {
        let (owner_id, id) = (OwnerId::from_uuid(row.owner_id), TwilioAccountId::from_uuid(row.id));
        report.accounts += 1;
        match cipher.reseal(&row.auth_token_encrypted, owner_id, row.id) {
            Resealed::Current => report.already_current += 1,
            Resealed::Unreadable => {
                tracing::warn!(%owner_id, twilio_account_id = %id, "auth token opens with no configured key");
                report.unreadable.push((owner_id, id));
            }
            Resealed::Resealed(sealed) => {
                sql_query("SELECT app_reseal_twilio_token($1, $2, $3)")
                    .bind::<SqlUuid, _>(row.owner_id)
                    .bind::<SqlUuid, _>(row.id)
                    .bind::<Bytea, _>(sealed)
                    .execute(conn)
                    .await?;
                report.resealed += 1;
            }
        }
    }
    Ok(rows.last().map(|row| (row.owner_id, row.id)))
}

/// A secret sealed anew under the current key, the stored one if it already is; `None` when no
/// configured key opens it.
fn resealed(cipher: &TokenCipher, stored: Vec<u8>, owner_id: OwnerId, id: Uuid) -> Option<(Vec<u8>, bool)> {
    match cipher.reseal(&stored, owner_id, id) {
        Resealed::Current => Some((stored, false)),
        Resealed::Resealed(sealed) => Some((sealed, true)),
        Resealed::Unreadable => None,
    }
}

/// Re-seals the webhook secrets of the page of endpoints after `after`; the last endpoint of
/// the page, `None` past the end.
async fn reseal_secrets_page(
    conn: &mut AsyncPgConnection,
    cipher: &TokenCipher,
    after: Option<(Uuid, Uuid)>,
    report: &mut KeyRotationReport,
) -> Result<Option<(Uuid, Uuid)>, TxError> {
    let rows: Vec<SealedSecretsRow> = sql_query(
        "SELECT owner_id, id, secret_encrypted, previous_secret_encrypted FROM app_sealed_webhook_secrets($1, $2, $3)",
    )
    .bind::<Nullable<SqlUuid>, _>(after.map(|(owner, _)| owner))
    .bind::<Nullable<SqlUuid>, _>(after.map(|(_, id)| id))
    .bind::<Integer, _>(PAGE)
    .load(conn)
    .await?;
    let last = rows.last().map(|row| (row.owner_id, row.id));
    for row in rows {
        let owner_id = OwnerId::from_uuid(row.owner_id);
        report.webhook_endpoints += 1;
        let current = resealed(cipher, row.secret_encrypted, owner_id, row.id);
        // No previous secret reads as "readable, unchanged".
        let previous = match row.previous_secret_encrypted {
            Some(sealed) => resealed(cipher, sealed, owner_id, row.id).map(|(s, changed)| (Some(s), changed)),
            None => Some((None, false)),
        };
        let (Some((secret, secret_changed)), Some((previous, previous_changed))) = (current, previous) else {
            tracing::warn!(%owner_id, webhook_endpoint_id = %row.id, "a webhook secret opens with no configured key");
            report.webhook_secrets_unreadable.push((owner_id, WebhookEndpointId::from_uuid(row.id)));
            continue;
        };
        if secret_changed || previous_changed {
            sql_query("SELECT app_reseal_webhook_secrets($1, $2, $3, $4)")
                .bind::<SqlUuid, _>(row.owner_id)
                .bind::<SqlUuid, _>(row.id)
                .bind::<Bytea, _>(secret)
                .bind::<Nullable<Bytea>, _>(previous)
                .execute(conn)
                .await?;
            report.webhook_secrets_resealed += 1;
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_unavailable() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let cipher = TokenCipher::from_hex(&"00".repeat(32)).unwrap();
        let result = runtime.block_on(rotate_token_keys("postgres://nobody@127.0.0.1:1/none", &cipher));
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    }
}
