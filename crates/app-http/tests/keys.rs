//! `conversa keys rotate`, the real binary against a real database: after the token encryption
//! key changed (the old one kept in `CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS`), it re-seals every
//! tenant's Twilio token under the new key, says how many, refuses to call it done while a
//! token opens with no configured key, and changes nothing the second time.

mod support;

use adapters_postgres::{PgStore, PoolSettings, TokenCipher, build_pool};
use chrono::Utc;
use domain::{AccountSid, NewTwilioAccount};
use ports::{TwilioAccountStore, WebhookAccounts};
use serde_json::{Value, json};
use support::{Env, TOKEN_KEY, describe};
use test_db::TestDb;

const OLD_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const LOST_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn store(db: &TestDb, key: &str) -> PgStore {
    let pool = build_pool(&PoolSettings::new(db.app_url())).expect("pool settings are valid");
    PgStore::new(pool, TokenCipher::from_hex(key).expect("a valid key"))
}

fn sid(n: u32) -> String {
    format!("AC{n:032x}")
}

fn token(n: u32) -> String {
    format!("{:032x}", 0xcafe_0000_u64 + u64::from(n))
}

/// A tenant made by `conversa owner create`, with Twilio account `n` registered by a service
/// configured with `key`.
async fn tenant_with_account(env: &Env, db: &TestDb, key: &str, n: u32) {
    let email = format!("t{n}@keys.example");
    let owner = env.run_json(&["owner", "create", "--name", &format!("Tenant {n}"), "--email", &email]).await;
    let owner_id = domain::OwnerId::from_uuid(owner["owner_id"].as_str().unwrap().parse().unwrap());
    let numbers = [format!("+55119400000{n:02}")];
    let account = NewTwilioAccount::parse(&sid(n), &token(n), None, &numbers).unwrap();
    store(db, key).create_twilio_account(owner_id, account, Utc::now()).await.expect("registered");
}

async fn token_of(store: &PgStore, n: u32) -> Option<String> {
    let account = store.webhook_account(&AccountSid::parse(&sid(n)).unwrap()).await.expect("readable");
    account.map(|a| a.credentials.auth_token.expose().to_owned())
}

fn counts(report: &Value) -> (u64, u64, u64, usize) {
    (
        report["accounts"].as_u64().unwrap(),
        report["resealed"].as_u64().unwrap(),
        report["already_current"].as_u64().unwrap(),
        report["unreadable"].as_array().unwrap().len(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_reseals_every_tenants_tokens_under_the_current_key() {
    let db = TestDb::new().await;
    let mut env = Env::new(&db, "http://127.0.0.1:1");
    tenant_with_account(&env, &db, OLD_KEY, 1).await;
    tenant_with_account(&env, &db, OLD_KEY, 2).await;
    tenant_with_account(&env, &db, LOST_KEY, 3).await;
    tenant_with_account(&env, &db, TOKEN_KEY, 4).await;

    // The key changed; the old one is kept for reading. A token sealed under a key the
    // configuration no longer has is reported and fails the run.
    env.set("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS", OLD_KEY);
    let output = env.run(&["keys", "rotate"]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", describe(&output)));
    assert_eq!(counts(&report), (4, 2, 1, 1), "{report}");
    assert_eq!(report["key_id"], TokenCipher::from_hex(TOKEN_KEY).unwrap().key_id());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS"));
    let unreadable = &report["unreadable"][0];
    assert!(unreadable["owner_id"].is_string() && unreadable["id"].is_string(), "{report}");

    env.set("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS", format!("{OLD_KEY},{LOST_KEY}"));
    let report = env.run_json(&["keys", "rotate"]).await;
    assert_eq!(counts(&report), (4, 1, 3, 0), "{report}");
    let report = env.run_json(&["keys", "rotate"]).await;
    assert_eq!(counts(&report), (4, 0, 4, 0), "nothing left to do: {report}");

    // The previous keys can go: the current key alone opens every token.
    let current_only = store(&db, TOKEN_KEY);
    for n in 1..=4 {
        assert_eq!(token_of(&current_only, n).await, Some(token(n)), "account {n}");
    }
    assert_eq!(json!(report["unreadable"]), json!([]));

    // A malformed previous key stops the command before it touches anything, naming the key.
    env.set("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS", "not-a-key");
    let output = env.run(&["keys", "rotate"]).await;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS"),
        "{}",
        describe(&output)
    );
}
