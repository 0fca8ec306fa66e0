//! How the store reports what PostgreSQL refuses: values it cannot keep are invalid (naming the
//! field when it can), failures that pass are unavailable, and no answer names a constraint.
//! (Typed conflicts are checked where each write is: `tenants.rs`, `features_and_accounts.rs`,
//! `send_queue.rs`.)

mod support;

use std::time::Duration as StdDuration;

use adapters_postgres::{PgStore, PoolSettings, build_pool};
use chrono::{TimeZone, Utc};
use diesel_async::SimpleAsyncConnection;
use domain::{NewUser, UserRole};
use ports::{StoreError, TenantDirectory};
use support::{at, cipher, create_tenant, email, store};
use test_db::TestDb;

fn user(name: &str) -> NewUser {
    NewUser { name: name.to_owned(), email: email("bruno@acme.example"), role: UserRole::Agent }
}

/// A store whose statements give up after `timeout`, as `CONVERSA_DB_STATEMENT_TIMEOUT_MS` sets.
fn store_timing_out_after(db: &TestDb, timeout: StdDuration) -> PgStore {
    let mut settings = PoolSettings::new(db.app_url());
    settings.statement_timeout = timeout;
    PgStore::new(build_pool(&settings).expect("pool settings are valid"), cipher())
}

#[track_caller]
fn assert_names_nothing_inside(error: &StoreError) {
    let text = error.to_string();
    for inside in ["_check", "_key", "users", "constraint", "relation"] {
        assert!(!text.contains(inside), "`{inside}` in {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_a_check_refuses_is_invalid_naming_its_field() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    // The domain bounds names too; a caller that skips it meets the schema's check.
    let refused = store.create_user(acme.id(), user(&"x".repeat(201)), at(10)).await.unwrap_err();
    assert_eq!(refused, StoreError::Invalid { field: Some("name"), reason: "must have 1 to 200 characters" });
    assert_names_nothing_inside(&refused);
    assert_eq!(db.count("SELECT count(*) AS count FROM users").await, 1, "only the admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn text_postgresql_cannot_store_is_invalid() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    // PostgreSQL refuses NUL in text as an invalid byte sequence (22021), a code diesel-async
    // does not pass on: this checks the message is recognised.
    let refused = store.create_user(acme.id(), user("Bruno\u{0}Lima"), at(10)).await.unwrap_err();
    assert_eq!(
        refused,
        StoreError::Invalid { field: None, reason: "contains characters that cannot be stored" }
    );
    assert_names_nothing_inside(&refused);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_time_postgresql_cannot_represent_is_invalid() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    // Before 4713 BC: chrono has it, PostgreSQL's timestamptz does not (22008).
    let ancient = Utc.with_ymd_and_hms(-5000, 1, 1, 0, 0, 0).single().expect("a valid instant");
    let refused = store.create_user(acme.id(), user("Bruno"), ancient).await.unwrap_err();
    assert_eq!(refused, StoreError::Invalid { field: None, reason: "is out of range" });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_timeout_is_unavailable() {
    let db = TestDb::new().await;
    let acme = create_tenant(&store(&db), "acme").await;
    let store = store_timing_out_after(&db, StdDuration::from_millis(300));
    // Another session holds the table, so the insert waits until its statement times out.
    let mut blocker = db.owner_connection().await;
    blocker.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE").await.unwrap();

    let timed_out = store.create_user(acme.id(), user("Bruno"), at(10)).await;
    assert!(matches!(timed_out, Err(StoreError::Unavailable(_))), "{timed_out:?}");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let retried = store.create_user(acme.id(), user("Bruno"), at(20)).await;
    assert!(retried.is_ok(), "retrying helps, as Unavailable promises: {retried:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_nobody_expects_is_internal_not_unavailable() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    // The application role losing a privilege: a deployment fault, which retrying cannot fix.
    let mut owner = db.owner_connection().await;
    owner.batch_execute("REVOKE INSERT ON users FROM conversa_app").await.unwrap();

    let denied = store.create_user(acme.id(), user("Bruno"), at(10)).await;
    assert!(matches!(denied, Err(StoreError::Internal(_))), "{denied:?}");
}
