//! `TenantDirectory` on PostgreSQL: tenants, users, API keys and authentication.

mod support;

use adapters_postgres::Sha256ApiKeys;
use domain::{ApiKeyId, NewApiKey, NewUser, OwnerId, UserId, UserRole};
use ports::{ApiKeyIssuer, ConflictKind, StoreError, TenantDirectory};
use support::{at, base_time, create_tenant, email, exec_as_owner, new_owner, store};
use test_db::TestDb;

fn user(name: &str, address: &str, role: UserRole) -> NewUser {
    NewUser { name: name.to_owned(), email: email(address), role }
}

fn key_for(user_id: UserId, name: &str) -> (NewApiKey, String) {
    let issued = Sha256ApiKeys.issue();
    let key = NewApiKey { user_id, name: name.to_owned(), prefix: issued.prefix, hash: issued.hash };
    (key, issued.plaintext.expose().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_owner_stores_the_tenant_its_admin_and_key_together() {
    let db = TestDb::new().await;
    let store = store(&db);
    let tenant = create_tenant(&store, "acme").await;

    assert_eq!(tenant.owner.email.as_str(), "acme@example.com");
    assert!(tenant.owner.active);
    assert_eq!(tenant.admin.owner_id, tenant.id());
    assert_eq!(tenant.admin.role, UserRole::Admin);
    assert_eq!(tenant.api_key.user_id, tenant.admin.id, "the key belongs to the new admin");
    assert_eq!(tenant.api_key.prefix, tenant.key.prefix);
    assert_eq!(store.get_owner(tenant.id()).await.unwrap(), tenant.owner);
    assert_eq!(store.get_user(tenant.id(), tenant.admin.id).await.unwrap(), tenant.admin);
    assert_eq!(store.list_api_keys(tenant.id()).await.unwrap(), vec![tenant.api_key.clone()]);
    let stored_hash = format!(
        "SELECT count(*) AS count FROM api_keys WHERE key_hash = '{}' AND key_hash <> '{}'",
        tenant.key.hash,
        tenant.key.plaintext.expose()
    );
    assert_eq!(db.count(&stored_hash).await, 1, "only the hash is stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_owner_email_is_the_email_conflict_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = store(&db);
    create_tenant(&store, "acme").await;

    let again = store.create_owner(new_owner("acme", &Sha256ApiKeys.issue()), at(60)).await;
    assert_eq!(again, Err(StoreError::Conflict(ConflictKind::EmailTaken)));
    assert_eq!(db.count("SELECT count(*) AS count FROM owners").await, 1);
    assert_eq!(db.count("SELECT count(*) AS count FROM users").await, 1, "the admin is rolled back too");
    assert_eq!(db.count("SELECT count(*) AS count FROM api_keys").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_owners_are_not_found() {
    let db = TestDb::new().await;
    let store = store(&db);
    assert_eq!(store.get_owner(OwnerId::new_at(base_time())).await, Err(StoreError::NotFound));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_unique_per_tenant_and_listed_oldest_first() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;

    let agent =
        store.create_user(acme.id(), user("Bruno", "bruno@acme.example", UserRole::Agent), at(10)).await;
    let agent = agent.unwrap();
    let viewer =
        store.create_user(acme.id(), user("Vera", "vera@acme.example", UserRole::Viewer), at(20)).await;
    let viewer = viewer.unwrap();
    assert_eq!((agent.owner_id, agent.role, agent.created_at), (acme.id(), UserRole::Agent, at(10)));
    assert_eq!(store.list_users(acme.id()).await.unwrap(), vec![acme.admin.clone(), agent.clone(), viewer]);

    let duplicate =
        store.create_user(acme.id(), user("Other", "BRUNO@acme.example", UserRole::Viewer), at(30)).await;
    assert_eq!(duplicate, Err(StoreError::Conflict(ConflictKind::EmailTaken)));
    let elsewhere =
        store.create_user(beta.id(), user("Bruno", "bruno@acme.example", UserRole::Agent), at(30)).await;
    assert!(elsewhere.is_ok(), "the same email may belong to another tenant: {elsewhere:?}");
    assert_eq!(store.list_users(beta.id()).await.unwrap().len(), 2, "tenants list only their users");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_user_is_not_found_like_an_unknown_one() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;

    assert_eq!(store.get_user(acme.id(), beta.admin.id).await, Err(StoreError::NotFound));
    assert_eq!(store.get_user(acme.id(), UserId::new_at(base_time())).await, Err(StoreError::NotFound));
    let (key, _) = key_for(beta.admin.id, "foreign user");
    assert_eq!(store.create_api_key(acme.id(), key, at(5)).await, Err(StoreError::NotFound));
    let (key, _) = key_for(UserId::new_at(base_time()), "unknown user");
    assert_eq!(store.create_api_key(acme.id(), key, at(5)).await, Err(StoreError::NotFound));
    assert_eq!(db.count("SELECT count(*) AS count FROM api_keys").await, 2, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_listed_newest_first_and_a_duplicate_hash_conflicts() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let (key, _) = key_for(acme.admin.id, "ci");
    let second = store.create_api_key(acme.id(), key.clone(), at(60)).await.unwrap();
    assert_eq!((second.name.as_str(), second.owner_id, second.revoked_at), ("ci", acme.id(), None));
    assert_eq!(store.list_api_keys(acme.id()).await.unwrap(), vec![second, acme.api_key.clone()]);

    // No request can send a hash: this conflict has no name of its own.
    let duplicate = store.create_api_key(acme.id(), key, at(120)).await;
    assert_eq!(duplicate, Err(StoreError::Conflict(ConflictKind::Other)));
}

#[tokio::test(flavor = "multi_thread")]
async fn authenticate_resolves_live_keys_only() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;

    let principal = store.authenticate(acme.key.hash.clone(), at(30)).await.unwrap().expect("a live key");
    assert_eq!(principal.owner_id, acme.id());
    assert_eq!(principal.user_id, acme.admin.id);
    assert_eq!(principal.api_key_id, acme.api_key.id);
    assert_eq!(principal.role, UserRole::Admin);
    let used = store.list_api_keys(acme.id()).await.unwrap();
    assert_eq!(used[0].last_used_at, Some(at(30)), "authentication records the use");

    assert_eq!(store.authenticate(Sha256ApiKeys.hash("cnv_unknown"), at(40)).await, Ok(None));
    assert_eq!(store.authenticate(acme.key.plaintext.expose().to_owned(), at(40)).await, Ok(None));

    let revoked = store.revoke_api_key(acme.id(), acme.api_key.id, at(50)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at(50)));
    assert_eq!(store.authenticate(acme.key.hash.clone(), at(60)).await, Ok(None), "revoked keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn authenticate_refuses_inactive_users_and_tenants() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    exec_as_owner(&db, &format!("UPDATE users SET active = false WHERE id = '{}'", acme.admin.id)).await;
    exec_as_owner(&db, &format!("UPDATE owners SET active = false WHERE id = '{}'", beta.id())).await;

    assert_eq!(store.authenticate(acme.key.hash.clone(), at(10)).await, Ok(None), "inactive user");
    assert_eq!(store.authenticate(beta.key.hash.clone(), at(10)).await, Ok(None), "inactive tenant");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_twice_keeps_the_first_time_and_foreign_keys_are_not_found() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;

    let first = store.revoke_api_key(acme.id(), acme.api_key.id, at(10)).await.unwrap();
    let second = store.revoke_api_key(acme.id(), acme.api_key.id, at(20)).await.unwrap();
    assert_eq!(first.revoked_at, Some(at(10)));
    assert_eq!(second.revoked_at, Some(at(10)), "revoking again is harmless");

    assert_eq!(store.revoke_api_key(acme.id(), beta.api_key.id, at(30)).await, Err(StoreError::NotFound));
    assert_eq!(
        store.revoke_api_key(acme.id(), ApiKeyId::new_at(base_time()), at(30)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.list_api_keys(beta.id()).await.unwrap()[0].revoked_at, None, "beta's key untouched");
    assert!(store.authenticate(beta.key.hash.clone(), at(40)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_of_user_finds_the_tenant_of_any_user_before_a_tenant_is_known() {
    let db = TestDb::new().await;
    let store = store(&db);
    let acme = create_tenant(&store, "acme").await;
    let beta = create_tenant(&store, "beta").await;
    let agent = store.create_user(beta.id(), user("Bia", "bia@beta.example", UserRole::Agent), at(10)).await;

    assert_eq!(store.owner_of_user(acme.admin.id).await, Ok(Some(acme.id())));
    assert_eq!(store.owner_of_user(agent.unwrap().id).await, Ok(Some(beta.id())));
    assert_eq!(store.owner_of_user(UserId::new_at(base_time())).await, Ok(None), "unknown user");
}
