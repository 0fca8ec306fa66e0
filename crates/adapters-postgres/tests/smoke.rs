use adapters_postgres::{PgStore, PoolSettings, Sha256ApiKeys, TokenCipher, build_pool, seed_demo_data};
use chrono::Utc;
use test_db::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn seed_runs_as_the_app_role_and_is_idempotent() {
    let db = TestDb::new().await;
    let pool = build_pool(&PoolSettings::new(db.app_url())).unwrap();
    let store = PgStore::new(pool, TokenCipher::from_hex(&"11".repeat(32)).unwrap());
    let first = seed_demo_data(&store, &Sha256ApiKeys, Utc::now()).await.unwrap();
    assert_eq!(first.owners_created, 3);
    let second = seed_demo_data(&store, &Sha256ApiKeys, Utc::now()).await.unwrap();
    assert_eq!(second.owners_created, 0);
    assert_eq!(db.count("SELECT count(*) AS count FROM owners").await, 3);
    assert_eq!(db.count("SELECT count(*) AS count FROM users").await, 4);
    assert_eq!(db.count("SELECT count(*) AS count FROM features").await, 5);
    assert_eq!(db.count("SELECT count(*) AS count FROM twilio_accounts").await, 2);
    assert_eq!(db.count("SELECT count(*) AS count FROM conversations").await, 1);
    assert_eq!(db.count("SELECT count(*) AS count FROM messages").await, 2);
}
