//! Changing and removing Twilio accounts on PostgreSQL: a new token or a deactivation reaches
//! every instance's webhook cache, removal is refused while conversations are active, and
//! Account SIDs are one form whatever the case they were written in.

mod support;

use std::time::Duration;

use adapters_postgres::MIGRATIONS;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use domain::{
    AccountSid, Channel, ChannelAddress, Conversation, ConversationStatus, LifecycleSettings,
    NewConversation, NewTwilioAccount, SecretString, TwilioAccountChanges, TwilioAccountId,
};
use ports::{
    ConflictKind, ConversationStore, StoreError, TwilioAccountDeletion, TwilioAccountStore, WebhookAccounts,
};
use serde_json::json;
use support::{
    BUSINESS, account_sid, at, auth_token, base_time, candidate, create_account, create_tenant, customer,
    phone, store,
};
use test_db::TestDb;

const NEW_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn new_token() -> TwilioAccountChanges {
    TwilioAccountChanges { auth_token: Some(SecretString::new(NEW_TOKEN)), ..TwilioAccountChanges::default() }
}

fn deactivate() -> TwilioAccountChanges {
    TwilioAccountChanges { active: Some(false), ..TwilioAccountChanges::default() }
}

fn sid(n: u32) -> AccountSid {
    AccountSid::parse(&account_sid(n)).unwrap()
}

/// The token the webhook lookup of `sid` decrypts, if the account is found.
async fn webhook_token(store: &adapters_postgres::PgStore, sid: &AccountSid) -> Option<String> {
    store
        .webhook_account(sid)
        .await
        .unwrap()
        .map(|account| account.credentials.auth_token.expose().to_owned())
}

/// Polls until the webhook lookup of `sid` gives `expected` (at most 5 s).
async fn eventually_token(
    store: &adapters_postgres::PgStore,
    sid: &AccountSid,
    expected: Option<&str>,
) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if webhook_token(store, sid).await.as_deref() == expected {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_applied_and_only_the_fields_given() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let account = create_account(&store, acme.id(), 1, &[BUSINESS]).await;

    let relabelled = TwilioAccountChanges {
        friendly_name: Some(Some("second".to_owned())),
        phone_numbers: Some(vec!["+5511940000002".to_owned(), "whatsapp:+5511940000002".to_owned()]),
        ..TwilioAccountChanges::default()
    };
    let changed = store.update_twilio_account(acme.id(), account.id, relabelled, at(10)).await.unwrap();
    assert_eq!(changed.friendly_name.as_deref(), Some("second"));
    assert_eq!(changed.phone_numbers, ["+5511940000002", "whatsapp:+5511940000002"]);
    assert_eq!(
        (changed.account_sid.clone(), changed.active, changed.created_at),
        (sid(1), true, account.created_at)
    );
    assert_eq!(webhook_token(&store, &sid(1)).await.as_deref(), Some(auth_token(1).as_str()), "token kept");

    let unlabelled = TwilioAccountChanges { friendly_name: Some(None), ..TwilioAccountChanges::default() };
    let changed = store.update_twilio_account(acme.id(), account.id, unlabelled, at(20)).await.unwrap();
    assert_eq!((changed.friendly_name, changed.phone_numbers.len()), (None, 2));
    assert_eq!(store.get_twilio_account(acme.id(), account.id).await.unwrap().friendly_name, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_token_and_a_deactivation_reach_every_instance_at_once() {
    let db = TestDb::new().await;
    let hour = Duration::from_secs(3600);
    // Two instances whose caches would keep an account for an hour; the second listens.
    let writer = store(&db).with_account_cache_ttl(hour);
    let other = store(&db).with_account_cache_ttl(hour);
    let listener = other.listen_for_account_changes(db.app_url());
    let acme = create_tenant(&writer, "acme").await;
    let account = create_account(&writer, acme.id(), 1, &[BUSINESS]).await;
    let old = auth_token(1);
    assert_eq!(webhook_token(&writer, &sid(1)).await.as_deref(), Some(old.as_str()));
    assert!(eventually_token(&other, &sid(1), Some(&old)).await, "cached on the other instance");

    writer.update_twilio_account(acme.id(), account.id, new_token(), at(10)).await.unwrap();
    assert_eq!(webhook_token(&writer, &sid(1)).await.as_deref(), Some(NEW_TOKEN), "this instance, at once");
    assert!(eventually_token(&other, &sid(1), Some(NEW_TOKEN)).await, "the other instance, notified");
    let business = ChannelAddress::new(Channel::Sms, phone(BUSINESS));
    let sending = writer.credentials_for_number(acme.id(), business.clone()).await.unwrap().unwrap();
    assert_eq!(sending.auth_token.expose(), NEW_TOKEN, "sends use the new token");

    writer.update_twilio_account(acme.id(), account.id, deactivate(), at(20)).await.unwrap();
    assert_eq!(webhook_token(&writer, &sid(1)).await, None, "refused on this instance at once");
    assert!(eventually_token(&other, &sid(1), None).await, "and on the other");
    assert_eq!(writer.credentials_for_number(acme.id(), business).await, Ok(None), "no sends");

    let reactivate = TwilioAccountChanges { active: Some(true), ..TwilioAccountChanges::default() };
    writer.update_twilio_account(acme.id(), account.id, reactivate, at(30)).await.unwrap();
    assert!(eventually_token(&other, &sid(1), Some(NEW_TOKEN)).await, "active again");
    listener.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_refuses_another_accounts_number_and_a_foreign_account() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let first = create_account(&store, acme.id(), 1, &["+5511940000001"]).await;
    create_account(&store, acme.id(), 2, &["+5511940000002"]).await;
    let betas = create_account(&store, beta.id(), 3, &["+5511940000003"]).await;

    let taken = TwilioAccountChanges {
        phone_numbers: Some(vec!["+5511940000001".to_owned(), "+5511940000002".to_owned()]),
        ..TwilioAccountChanges::default()
    };
    let refused = store.update_twilio_account(acme.id(), first.id, taken, at(10)).await;
    assert_eq!(refused.map(drop), Err(StoreError::Conflict(ConflictKind::NumberTaken)));
    // Another tenant's number is not looked at.
    let betas_number = TwilioAccountChanges {
        phone_numbers: Some(vec!["+5511940000003".to_owned()]),
        ..TwilioAccountChanges::default()
    };
    assert!(store.update_twilio_account(acme.id(), first.id, betas_number, at(11)).await.is_ok());

    let foreign = store.update_twilio_account(acme.id(), betas.id, deactivate(), at(12)).await;
    assert_eq!(foreign.map(drop), Err(StoreError::NotFound));
    assert_eq!(store.delete_twilio_account(acme.id(), betas.id).await, Err(StoreError::NotFound));
    let unknown = TwilioAccountId::new_at(base_time());
    assert_eq!(
        store.update_twilio_account(acme.id(), unknown, deactivate(), at(13)).await.map(drop),
        Err(StoreError::NotFound)
    );
    assert!(store.get_twilio_account(beta.id(), betas.id).await.unwrap().active, "untouched");
}

/// A WhatsApp conversation between customer `n` and `business`.
fn whatsapp(owner_id: domain::OwnerId, n: usize, business: &str) -> Conversation {
    let new = NewConversation {
        channel: Channel::Whatsapp,
        customer_phone: phone(&customer(n)),
        business_phone: phone(business),
        context: json!({}),
        metadata: json!({}),
    };
    Conversation::open(owner_id, new, &LifecycleSettings::default(), at(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_is_deleted_only_without_active_conversations_on_its_numbers() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let sms = create_account(&store, acme.id(), 1, &[BUSINESS]).await;
    let wa = create_account(&store, acme.id(), 2, &["whatsapp:+5511940000002", "+5511940000003"]).await;
    let mut on_business = Vec::new();
    for n in [1, 2] {
        let (conversation, _) =
            store.open_or_get_active(candidate(acme.id(), &customer(n), at(0))).await.unwrap();
        on_business.push(conversation.id);
    }
    // On the WhatsApp account's number, but over SMS: not that account's conversation.
    let mut sms_on_wa_number = candidate(acme.id(), &customer(3), at(0));
    sms_on_wa_number.business_phone = phone("+5511940000002");
    store.open_or_get_active(sms_on_wa_number).await.unwrap();

    assert_eq!(
        store.delete_twilio_account(acme.id(), sms.id).await,
        Ok(TwilioAccountDeletion::InUse { active_conversations: 2 })
    );
    assert_eq!(store.delete_twilio_account(acme.id(), wa.id).await, Ok(TwilioAccountDeletion::Deleted));
    assert_eq!(store.get_twilio_account(acme.id(), wa.id).await, Err(StoreError::NotFound));

    let wa = create_account(&store, acme.id(), 4, &["whatsapp:+5511940000002"]).await;
    store.open_or_get_active(whatsapp(acme.id(), 4, "+5511940000002")).await.unwrap();
    assert_eq!(
        store.delete_twilio_account(acme.id(), wa.id).await,
        Ok(TwilioAccountDeletion::InUse { active_conversations: 1 }),
        "a WhatsApp conversation on its WhatsApp number"
    );

    // Closed conversations do not hold an account; they stay, with their messages.
    for id in &on_business {
        let closing =
            store.close_conversation(acme.id(), *id, ConversationStatus::AgentClosed, "done".into(), at(60));
        closing.await.unwrap();
    }
    assert_eq!(store.delete_twilio_account(acme.id(), sms.id).await, Ok(TwilioAccountDeletion::Deleted));
    assert_eq!(webhook_token(&store, &sid(1)).await, None, "its webhooks are refused at once");
    let kept = store.get_conversation(acme.id(), on_business[0]).await.unwrap();
    assert_eq!(kept.status, ConversationStatus::AgentClosed);
    // The Account SID is free again (for a tenant that registers it anew).
    let again =
        NewTwilioAccount::parse(&account_sid(1), &auth_token(1), None, &[BUSINESS.to_owned()]).unwrap();
    assert!(store.create_twilio_account(acme.id(), again, at(70)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn account_sids_are_one_form_whatever_the_case_they_are_written_in() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let shouted = format!("AC{}", "ABCDEF0123456789".repeat(2));
    let canonical = format!("AC{}", "abcdef0123456789".repeat(2));
    let numbers = [BUSINESS.to_owned()];
    let registered = NewTwilioAccount::parse(&shouted, &auth_token(1), None, &numbers).unwrap();
    let account = store.create_twilio_account(acme.id(), registered, at(0)).await.unwrap();
    assert_eq!(account.account_sid.as_str(), canonical);
    let stored = format!("SELECT count(*) AS count FROM twilio_accounts WHERE account_sid = '{canonical}'");
    assert_eq!(db.count(&stored).await, 1);

    for spelling in [shouted.clone(), canonical.clone(), format!("ac{}", &canonical[2..])] {
        let found = webhook_token(&store, &AccountSid::parse(&spelling).unwrap()).await;
        assert_eq!(found.as_deref(), Some(auth_token(1).as_str()), "{spelling}");
    }
    let twice =
        NewTwilioAccount::parse(&canonical, &auth_token(2), None, &["+14155550100".to_owned()]).unwrap();
    let refused = store.create_twilio_account(beta.id(), twice, at(1)).await;
    assert_eq!(refused.map(drop), Err(StoreError::Conflict(ConflictKind::AccountSidTaken)));

    let mut owner = db.owner_connection().await;
    let not_canonical = diesel::sql_query(format!(
        "UPDATE twilio_accounts SET account_sid = '{shouted}' WHERE id = '{}'",
        account.id
    ))
    .execute(&mut owner)
    .await;
    assert!(not_canonical.is_err(), "the table refuses a SID in another form");
}

#[derive(QueryableByName)]
struct SidRow {
    #[diesel(sql_type = Text)]
    account_sid: String,
}

/// Reverts the two migrations of this change on `url`, runs `setup`, and migrates up again.
async fn around_the_migration(url: &str, setup: &str) -> Result<(), String> {
    let (url, setup) = (url.to_owned(), setup.to_owned());
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut conn =
            AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).map_err(|e| e.to_string())?;
        // Back to before 000011 (and whatever came after it).
        for _ in 0..10 {
            let reverted = conn.revert_last_migration(MIGRATIONS).map_err(|e| e.to_string())?;
            if reverted.to_string().ends_with("000011") {
                break;
            }
        }
        conn.batch_execute(&setup).map_err(|e| e.to_string())?;
        conn.run_pending_migrations(MIGRATIONS).map(drop).map_err(|e| e.to_string())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_rewrites_older_sids_into_twilios_form() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let account = create_account(&store, acme.id(), 1, &[BUSINESS]).await;
    let shouted = format!("AC{}", "ABCDEF0123456789".repeat(2));
    let setup = format!("UPDATE twilio_accounts SET account_sid = '{shouted}' WHERE id = '{}'", account.id);
    around_the_migration(&db.owner_url(), &setup).await.expect("migrated");

    let mut owner = db.owner_connection().await;
    let stored: SidRow =
        diesel::sql_query("SELECT account_sid FROM twilio_accounts").get_result(&mut owner).await.unwrap();
    assert_eq!(stored.account_sid, format!("AC{}", "abcdef0123456789".repeat(2)));
    let lookup = AccountSid::parse(&shouted).unwrap();
    assert_eq!(webhook_token(&store, &lookup).await.as_deref(), Some(auth_token(1).as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migration_stops_at_a_sid_registered_twice_in_different_case() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let first = create_account(&store, acme.id(), 1, &[BUSINESS]).await;
    let lower = format!("AC{}", "abcdef0123456789".repeat(2));
    let betas = NewTwilioAccount::parse(&lower, &auth_token(2), None, &[BUSINESS.to_owned()]).unwrap();
    store.create_twilio_account(beta.id(), betas, at(0)).await.unwrap();
    let upper = format!("AC{}", "ABCDEF0123456789".repeat(2));
    let setup = format!("UPDATE twilio_accounts SET account_sid = '{upper}' WHERE id = '{}'", first.id);
    let failed = around_the_migration(&db.owner_url(), &setup).await.expect_err("refused");
    assert!(
        failed.contains("more than once in different letter case") && failed.contains(&lower),
        "{failed}"
    );
}
