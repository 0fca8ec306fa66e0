//! Token encryption keys on PostgreSQL: tokens sealed under a previous key (or before sealed
//! tokens named their key) are read, and `rotate_token_keys` re-seals every tenant's under the
//! current key, once.

mod support;

use adapters_postgres::{KeyRotationReport, PgStore, TokenCipher, rotate_token_keys};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use diesel::QueryableByName;
use diesel::sql_types::Bytea;
use diesel_async::RunQueryDsl;
use domain::{AccountSid, TwilioAccount};
use ports::{StoreError, WebhookAccounts};
use support::{CIPHER_KEY, account_sid, auth_token, create_account, create_tenant, store_with};
use test_db::TestDb;

const OLD_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const LOST_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn cipher(key: &str) -> TokenCipher {
    TokenCipher::from_hex(key).unwrap()
}

/// The configuration after the key changed: `CIPHER_KEY` current, `OLD_KEY` previous.
fn rotated() -> TokenCipher {
    cipher(CIPHER_KEY).with_previous([OLD_KEY]).unwrap()
}

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = Bytea)]
    auth_token_encrypted: Vec<u8>,
}

async fn sealed(db: &TestDb, account: &TwilioAccount) -> Vec<u8> {
    let mut owner = db.owner_connection().await;
    let row: Sealed = diesel::sql_query(format!(
        "SELECT auth_token_encrypted FROM twilio_accounts WHERE id = '{}'",
        account.id
    ))
    .get_result(&mut owner)
    .await
    .unwrap();
    row.auth_token_encrypted
}

/// Stores `token` for `account` as the service sealed tokens before they named their key.
async fn seal_the_old_way(db: &TestDb, account: &TwilioAccount, key: &str, token: &str) {
    let aes = Aes256Gcm::new_from_slice(&hex::decode(key).unwrap()).unwrap();
    let nonce = [9_u8; 12];
    let sealed =
        [nonce.as_slice(), &aes.encrypt(Nonce::from_slice(&nonce), token.as_bytes()).unwrap()].concat();
    db.execute(&format!(
        "UPDATE twilio_accounts SET auth_token_encrypted = '\\x{}' WHERE id = '{}'",
        hex::encode(sealed),
        account.id
    ))
    .await;
}

async fn token_of(store: &PgStore, n: u32) -> Result<Option<String>, StoreError> {
    let sid = AccountSid::parse(&account_sid(n)).unwrap();
    let account = store.webhook_account(&sid).await?;
    Ok(account.map(|a| a.credentials.auth_token.expose().to_owned()))
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_under_a_previous_key_or_without_a_key_id_are_read() {
    let db = TestDb::new().await;
    let before = store_with(&db.app_url(), cipher(OLD_KEY));
    let acme = create_tenant(&before, "acme").await;
    create_account(&before, acme.id(), 1, &["+5511940000001"]).await;
    let legacy = create_account(&before, acme.id(), 2, &["+5511940000002"]).await;
    seal_the_old_way(&db, &legacy, OLD_KEY, &auth_token(2)).await;

    let current_only = store_with(&db.app_url(), cipher(CIPHER_KEY));
    assert!(matches!(token_of(&current_only, 1).await, Err(StoreError::Corrupt(_))), "the old key is needed");
    let after = store_with(&db.app_url(), rotated());
    assert_eq!(token_of(&after, 1).await, Ok(Some(auth_token(1))));
    assert_eq!(token_of(&after, 2).await, Ok(Some(auth_token(2))), "sealed before key ids");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_reseals_every_tenants_tokens_under_the_current_key_once() {
    let db = TestDb::new().await;
    let before = store_with(&db.app_url(), cipher(OLD_KEY));
    let acme = create_tenant(&before, "acme").await;
    let beta = create_tenant(&before, "beta").await;
    let acmes = create_account(&before, acme.id(), 1, &["+5511940000001"]).await;
    let legacy = create_account(&before, acme.id(), 2, &["+5511940000002"]).await;
    seal_the_old_way(&db, &legacy, OLD_KEY, &auth_token(2)).await;
    create_account(&before, beta.id(), 3, &["+5511940000001"]).await;
    // Registered after the key changed: already under the current key.
    let after = store_with(&db.app_url(), rotated());
    let current = create_account(&after, beta.id(), 4, &["+5511940000004"]).await;
    let current_sealed = sealed(&db, &current).await;

    let report = rotate_token_keys(&db.owner_url(), &rotated()).await.unwrap();
    assert_eq!(
        report,
        KeyRotationReport { accounts: 4, resealed: 3, already_current: 1, ..KeyRotationReport::default() },
        "every tenant's accounts"
    );
    assert_eq!(sealed(&db, &current).await, current_sealed, "a current token is not rewritten");
    let resealed = sealed(&db, &acmes).await;
    assert_eq!(hex::encode(&resealed[1..9]), cipher(CIPHER_KEY).key_id(), "names the current key");

    // The old key can go: every token opens with the current key alone.
    let current_only = store_with(&db.app_url(), cipher(CIPHER_KEY));
    for n in 1..=4 {
        assert_eq!(token_of(&current_only, n).await, Ok(Some(auth_token(n))), "account {n}");
    }
    let again = rotate_token_keys(&db.owner_url(), &rotated()).await.unwrap();
    assert_eq!(
        again,
        KeyRotationReport { accounts: 4, resealed: 0, already_current: 4, ..KeyRotationReport::default() }
    );
    assert_eq!(sealed(&db, &acmes).await, resealed, "idempotent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_no_configured_key_opens_is_reported_and_left_alone() {
    let db = TestDb::new().await;
    let lost = store_with(&db.app_url(), cipher(LOST_KEY));
    let acme = create_tenant(&lost, "acme").await;
    let stranded = create_account(&lost, acme.id(), 1, &["+5511940000001"]).await;
    let before = store_with(&db.app_url(), cipher(OLD_KEY));
    create_account(&before, acme.id(), 2, &["+5511940000002"]).await;
    let stranded_sealed = sealed(&db, &stranded).await;

    let report = rotate_token_keys(&db.owner_url(), &rotated()).await.unwrap();
    assert_eq!(report.unreadable, vec![(acme.id(), stranded.id)]);
    assert_eq!((report.accounts, report.resealed, report.already_current), (2, 1, 0));
    assert_eq!(sealed(&db, &stranded).await, stranded_sealed, "kept for the key that can open it");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_role_cannot_list_every_tenants_tokens() {
    let db = TestDb::new().await;
    let refused = rotate_token_keys(&db.app_url(), &rotated()).await;
    assert!(matches!(refused, Err(StoreError::Internal(_))), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_secrets_are_resealed_beside_the_tokens_both_the_current_and_the_rotated_out() {
    use domain::{NewWebhookEndpoint, SecretString, WebhookUrl};
    use ports::WebhookEndpointStore;
    let db = TestDb::new().await;
    let before = store_with(&db.app_url(), cipher(OLD_KEY));
    let acme = create_tenant(&before, "acme").await;
    let endpoint = NewWebhookEndpoint {
        url: WebhookUrl::parse("https://crm.example/hooks", false).unwrap(),
        event_types: vec![],
        description: None,
        secret: SecretString::new("whsec_b2xk"),
    };
    let created = before.create_webhook_endpoint(acme.id(), endpoint, support::at(1)).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    before
        .rotate_webhook_secret(acme.id(), created.id, SecretString::new("whsec_bmV3"), later, support::at(2))
        .await
        .unwrap();

    let report = rotate_token_keys(&db.owner_url(), &rotated()).await.unwrap();
    assert_eq!((report.webhook_endpoints, report.webhook_secrets_resealed), (1, 1));
    assert!(report.webhook_secrets_unreadable.is_empty());
    let again = rotate_token_keys(&db.owner_url(), &rotated()).await.unwrap();
    assert_eq!((again.webhook_endpoints, again.webhook_secrets_resealed), (1, 0), "idempotent");

    // The current key alone opens both secrets now: a delivery's claim carries them.
    let current_only = store_with(&db.app_url(), cipher(CIPHER_KEY));
    let candidate = support::candidate(acme.id(), &support::customer(1), support::at(3));
    ports::MessageStore::store_inbound(
        &current_only,
        candidate,
        support::inbound("SMrot", "oi"),
        0,
        support::at(3),
    )
    .await
    .unwrap();
    assert!(support::fan_out_until(&current_only, 1).await >= 1);
    let claims = ports::WebhookDeliveryQueue::claim_deliveries(
        &current_only,
        chrono::Utc::now(),
        10,
        2,
        chrono::Duration::seconds(60),
    )
    .await
    .expect("both secrets open with the current key");
    let secrets: Vec<&str> = claims[0].secrets.iter().map(SecretString::expose).collect();
    assert_eq!(secrets, ["whsec_bmV3", "whsec_b2xk"]);
}
