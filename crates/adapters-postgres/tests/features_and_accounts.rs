//! `FeatureStore` and `TwilioAccountStore` on PostgreSQL.

mod support;

use adapters_postgres::{PgStore, TokenCipher};
use diesel::QueryableByName;
use diesel::sql_types::Bytea;
use diesel_async::RunQueryDsl;
use domain::{
    AccountSid, Channel, ChannelAddress, FeatureName, FeatureUpdate, TenantSettings, TwilioAccountId,
};
use ports::{ConflictKind, FeatureStore, StoreError, TwilioAccountStore, WebhookAccount, WebhookAccounts};
use serde_json::json;
use support::{
    account_sid, at, auth_token, base_time, create_account, create_tenant, new_account, phone, store,
    store_with,
};
use test_db::TestDb;

fn name(raw: &str) -> FeatureName {
    FeatureName::parse(raw).expect("a valid feature name")
}

fn update(raw: &str, enabled: bool, config: serde_json::Value) -> FeatureUpdate {
    FeatureUpdate { name: name(raw), enabled, config }
}

#[tokio::test(flavor = "multi_thread")]
async fn features_are_created_replaced_switched_and_listed_by_name() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let created =
        store.put_feature(acme.id(), update("closure_detection", true, json!({"threshold": 0.7})), at(10));
    let created = created.await.unwrap();
    assert_eq!((created.owner_id, created.enabled, created.created_at), (acme.id(), true, at(10)));
    let replaced =
        store.put_feature(acme.id(), update("closure_detection", false, json!({"threshold": 0.9})), at(20));
    let replaced = replaced.await.unwrap();
    assert_eq!(replaced.id, created.id, "put replaces the existing feature");
    assert_eq!((replaced.enabled, &replaced.config), (false, &json!({"threshold": 0.9})));
    assert_eq!(replaced.created_at, at(10));

    store
        .put_feature(acme.id(), update("auto_reply", true, json!({"message": "Oi!"})), at(30))
        .await
        .unwrap();
    let switched =
        store.set_feature_enabled(acme.id(), name("closure_detection"), true, at(40)).await.unwrap();
    assert_eq!(
        (switched.id, switched.enabled, &switched.config),
        (created.id, true, &json!({"threshold": 0.9}))
    );
    assert_eq!(store.get_feature(acme.id(), name("closure_detection")).await.unwrap(), switched);

    let names: Vec<_> = store.list_features(acme.id()).await.unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(names, [name("auto_reply"), name("closure_detection")]);
    assert_eq!(db.count("SELECT count(*) AS count FROM features").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_and_foreign_features_are_not_found() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    store.put_feature(beta.id(), update("crm_sync", true, json!({})), at(10)).await.unwrap();

    assert_eq!(store.get_feature(acme.id(), name("crm_sync")).await, Err(StoreError::NotFound));
    assert_eq!(store.get_feature(acme.id(), name("never_created")).await, Err(StoreError::NotFound));
    assert_eq!(
        store.set_feature_enabled(acme.id(), name("crm_sync"), false, at(20)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_feature_enabled(acme.id(), name("never_created"), true, at(20)).await,
        Err(StoreError::NotFound)
    );
    assert!(
        store.get_feature(beta.id(), name("crm_sync")).await.unwrap().enabled,
        "beta's feature untouched"
    );
    assert_eq!(store.list_features(acme.id()).await.unwrap(), Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn twilio_accounts_are_stored_listed_and_read_without_their_token() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let first = create_account(&store, acme.id(), 1, &["+5511940000001", "whatsapp:+5511940000001"]).await;
    let second = create_account(&store, acme.id(), 2, &["+5511940000002"]).await;

    assert_eq!(first.account_sid.as_str(), account_sid(1));
    assert_eq!(first.phone_numbers, ["+5511940000001", "whatsapp:+5511940000001"]);
    assert_eq!(
        (first.owner_id, first.active, first.friendly_name.as_deref()),
        (acme.id(), true, Some("account 1"))
    );
    assert_eq!(store.get_twilio_account(acme.id(), first.id).await.unwrap(), first);
    let mut listed = store.list_twilio_accounts(acme.id()).await.unwrap();
    listed.sort_by(|a, b| a.account_sid.as_str().cmp(b.account_sid.as_str()));
    assert_eq!(listed, vec![first, second], "both accounts (created in the same millisecond: any order)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_belongs_to_one_account_of_a_tenant_but_not_across_tenants() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    create_account(&store, acme.id(), 1, &["+5511940000001", "whatsapp:+5511940000001"]).await;

    let overlapping = store
        .create_twilio_account(acme.id(), new_account(2, &["+5511940000009", "+5511940000001"]), at(10))
        .await;
    assert_eq!(overlapping.map(drop), Err(StoreError::Conflict(ConflictKind::NumberTaken)));
    // The same number on the WhatsApp channel is another sender.
    let whatsapp_only =
        store.create_twilio_account(acme.id(), new_account(3, &["whatsapp:+5511940000009"]), at(10)).await;
    assert!(whatsapp_only.is_ok(), "{whatsapp_only:?}");
    // Another tenant's accounts are not looked at: a tenant cannot block another's number.
    let other_tenant =
        store.create_twilio_account(beta.id(), new_account(4, &["+5511940000001"]), at(10)).await;
    assert!(other_tenant.is_ok(), "{other_tenant:?}");
    assert_eq!(db.count("SELECT count(*) AS count FROM twilio_accounts").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_account_sid_conflicts_even_for_another_tenant() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    create_account(&store, acme.id(), 1, &["+5511940000001"]).await;

    let same_tenant =
        store.create_twilio_account(acme.id(), new_account(1, &["+5511940000009"]), at(10)).await;
    let taken = Err(StoreError::Conflict(ConflictKind::AccountSidTaken));
    assert_eq!(same_tenant.map(drop), taken);
    let other_tenant =
        store.create_twilio_account(beta.id(), new_account(1, &["+5511940000009"]), at(10)).await;
    assert_eq!(other_tenant.map(drop), taken);
    assert_eq!(db.count("SELECT count(*) AS count FROM twilio_accounts").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_account_is_not_found_like_an_unknown_one() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let betas = create_account(&store, beta.id(), 2, &["+14155550102"]).await;

    assert_eq!(store.get_twilio_account(acme.id(), betas.id).await, Err(StoreError::NotFound));
    assert_eq!(
        store.get_twilio_account(acme.id(), TwilioAccountId::new_at(base_time())).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.list_twilio_accounts(acme.id()).await.unwrap(), Vec::new());
    let business = ChannelAddress::new(Channel::Sms, phone("+14155550102"));
    assert_eq!(store.credentials_for_number(acme.id(), business).await, Ok(None), "not acme's number");
}

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = Bytea)]
    auth_token_encrypted: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_encrypted_at_rest_and_decrypted_for_credentials() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let account = create_account(&store, acme.id(), 7, &["+5511940000001", "whatsapp:+5511940000001"]).await;
    let token = auth_token(7);
    let closure = update("closure_detection", true, json!({"threshold": 0.7, "window": 8}));
    let closure = store.put_feature(acme.id(), closure, at(10)).await.unwrap();
    let reply = store.put_feature(acme.id(), update("auto_reply", true, json!({"message": "Oi!"})), at(11));
    let reply = reply.await.unwrap();
    store
        .put_feature(beta.id(), update("auto_reply", true, json!({"message": "Hi!"})), at(12))
        .await
        .unwrap();

    let mut owner = db.owner_connection().await;
    let sealed: Sealed = diesel::sql_query("SELECT auth_token_encrypted FROM twilio_accounts")
        .get_result(&mut owner)
        .await
        .unwrap();
    let sealed = sealed.auth_token_encrypted;
    assert!(sealed.len() > token.len(), "nonce and tag are stored with the ciphertext");
    assert!(!sealed.windows(8).any(|w| token.as_bytes().windows(8).any(|t| t == w)), "no plaintext at rest");

    let sid = AccountSid::parse(&account_sid(7)).unwrap();
    let by_sid = store.webhook_account(&sid).await.unwrap().expect("a registered SID");
    assert_eq!(by_sid.credentials.account, account);
    assert_eq!(by_sid.credentials.auth_token.expose(), token);
    assert_eq!(
        by_sid.settings,
        TenantSettings::from_features(&[reply, closure]),
        "the tenant's settings (only theirs)"
    );

    let whatsapp = ChannelAddress::new(Channel::Whatsapp, phone("+5511940000001"));
    let by_number =
        store.credentials_for_number(acme.id(), whatsapp).await.unwrap().expect("an owned number");
    assert_eq!((by_number.account.id, by_number.auth_token.expose()), (account.id, token.as_str()));
    let unowned = ChannelAddress::new(Channel::Sms, phone("+5511940000099"));
    assert_eq!(store.credentials_for_number(acme.id(), unowned).await, Ok(None));

    let unknown = AccountSid::parse(&account_sid(8)).unwrap();
    assert_eq!(store.webhook_account(&unknown).await, Ok(None));

    let other_key = store_with(&db.app_url(), TokenCipher::from_hex(&"ee".repeat(32)).unwrap());
    let wrong_key = other_key.webhook_account(&sid).await;
    assert!(matches!(wrong_key, Err(StoreError::Corrupt(_))), "{wrong_key:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inactive_accounts_and_tenants_yield_no_credentials() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let inactive = create_account(&store, acme.id(), 1, &["+5511940000001"]).await;
    create_account(&store, beta.id(), 2, &["+14155550102"]).await;
    support::exec_as_owner(
        &db,
        &format!("UPDATE twilio_accounts SET active = false WHERE id = '{}'", inactive.id),
    )
    .await;
    support::exec_as_owner(&db, &format!("UPDATE owners SET active = false WHERE id = '{}'", beta.id()))
        .await;

    let sid = |n| AccountSid::parse(&account_sid(n)).unwrap();
    assert_eq!(store.webhook_account(&sid(1)).await, Ok(None), "inactive account");
    assert_eq!(store.webhook_account(&sid(2)).await, Ok(None), "inactive tenant");
    let business = ChannelAddress::new(Channel::Sms, phone("+5511940000001"));
    assert_eq!(store.credentials_for_number(acme.id(), business).await, Ok(None));
}

/// Polls the cache until `done` holds for the account `sid` names (at most 5 s).
async fn eventually(
    store: &PgStore,
    sid: &AccountSid,
    done: impl Fn(Option<&WebhookAccount>) -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let account = store.webhook_account(sid).await.unwrap();
        if done(account.as_deref()) {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_accounts_are_cached_and_changes_reach_every_instance() {
    let db = TestDb::new().await;
    let hour = std::time::Duration::from_secs(3600);
    // Two instances with caches that would hold an account for an hour; one listens.
    let listening = store(&db).with_account_cache_ttl(hour);
    let listener = listening.listen_for_account_changes(db.app_url());
    let deaf = store(&db).with_account_cache_ttl(hour);
    let tenant = create_tenant(&listening, "acme").await;
    create_account(&listening, tenant.id(), 1, &["+5511940000001"]).await;
    let sid = AccountSid::parse(&account_sid(1)).unwrap();
    let no_reply =
        |account: Option<&WebhookAccount>| account.is_some_and(|a| a.settings.auto_reply.is_none());
    assert!(no_reply(deaf.webhook_account(&sid).await.unwrap().as_deref()));
    assert!(eventually(&listening, &sid, no_reply).await);

    // A change made by another instance (the deaf one): the listener hears of it; the deaf
    // instance's own write marked its own cache stale at once.
    deaf.put_feature(tenant.id(), update("auto_reply", true, json!({"message": "Oi!"})), at(1))
        .await
        .unwrap();
    let replies = |account: Option<&WebhookAccount>| {
        account.is_some_and(|a| a.settings.auto_reply.as_deref() == Some("Oi!"))
    };
    assert!(eventually(&listening, &sid, replies).await, "the notification reached the listening cache");
    assert!(replies(deaf.webhook_account(&sid).await.unwrap().as_deref()), "a local write is seen at once");

    // A change no instance made through the service (an operator's SQL) reaches the listener
    // only; the deaf cache keeps its copy until its TTL.
    support::exec_as_owner(
        &db,
        &format!("UPDATE twilio_accounts SET active = false WHERE owner_id = '{}'", tenant.id()),
    )
    .await;
    assert!(
        eventually(&listening, &sid, |account| account.is_none()).await,
        "deactivation reached the listener"
    );
    assert!(
        replies(deaf.webhook_account(&sid).await.unwrap().as_deref()),
        "the cache answers within its TTL"
    );
    listener.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_has_at_most_64_features_even_when_requests_race() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    for n in 0..62 {
        store.put_feature(acme.id(), update(&format!("custom_{n}"), true, json!({})), at(1)).await.unwrap();
    }
    // Two requests race for the last place: exactly one gets it.
    let (one, two) = tokio::join!(
        store.put_feature(acme.id(), update("racer_a", true, json!({})), at(2)),
        store.put_feature(acme.id(), update("racer_b", true, json!({})), at(2)),
    );
    store.put_feature(acme.id(), update("custom_63", true, json!({})), at(2)).await.ok();
    let features = store.list_features(acme.id()).await.unwrap();
    assert_eq!(features.len(), 64, "{} features", features.len());
    assert!(one.is_ok() || two.is_ok());
    let limited = StoreError::LimitReached { what: "features", limit: 64 };
    let sixty_fifth = store.put_feature(acme.id(), update("one_too_many", true, json!({})), at(3)).await;
    assert_eq!(sixty_fifth, Err(limited));
    // Replacing one of the 64 is not adding one; another tenant has its own 64.
    let replaced = store.put_feature(acme.id(), update("custom_0", false, json!({"v": 2})), at(4)).await;
    assert_eq!(replaced.unwrap().config, json!({"v": 2}));
    store.put_feature(beta.id(), update("custom_0", true, json!({})), at(4)).await.unwrap();
}

#[derive(QueryableByName)]
struct Lookup {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    bytes: i32,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    features: serde_json::Value,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_lookup_reads_only_the_settings_the_service_reads() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    create_account(&store, acme.id(), 7, &["+5511940000001"]).await;
    let reply = update("auto_reply", true, json!({"message": "Oi!"}));
    store.put_feature(acme.id(), reply, at(1)).await.unwrap();
    // The tenant at its limit, every other feature as large as it may be.
    let blob = "x".repeat(domain::MAX_FEATURE_CONFIG_BYTES - 20);
    for n in 0..63 {
        let large = update(&format!("custom_{n}"), true, json!({ "blob": blob }));
        store.put_feature(acme.id(), large, at(2)).await.unwrap();
    }
    let mut owner = db.owner_connection().await;
    let lookup: Lookup = diesel::sql_query(format!(
        "SELECT pg_column_size(features) AS bytes, features FROM app_twilio_account_by_sid('{}')",
        account_sid(7)
    ))
    .get_result(&mut owner)
    .await
    .unwrap();
    let names: Vec<&str> =
        lookup.features.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["auto_reply"], "only the features the service reads");
    assert!(lookup.bytes < 1024, "the lookup carries {} bytes", lookup.bytes);
    let account = store.webhook_account(&AccountSid::parse(&account_sid(7)).unwrap()).await.unwrap().unwrap();
    assert_eq!(account.settings.auto_reply.as_deref(), Some("Oi!"));
}
