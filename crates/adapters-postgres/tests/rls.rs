//! Row-level security, checked with raw SQL as the application role: the database itself keeps
//! tenants apart, whatever query the service sends.

mod support;

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use domain::{FeatureName, FeatureUpdate, NewAiResult};
use domain::{NewWebhookEndpoint, SecretString, WebhookUrl};
use ports::{FeatureStore, MessageStore, WebhookEndpointStore};
use serde_json::json;
use support::{Tenant, at, count_on, create_account, create_tenant, customer, inbound, outbound, store};
use test_db::TestDb;

/// Every table holding tenant rows, with the column naming the tenant.
const TENANT_TABLES: [(&str, &str); 14] = [
    ("owners", "id"),
    ("users", "owner_id"),
    ("api_keys", "owner_id"),
    ("features", "owner_id"),
    ("twilio_accounts", "owner_id"),
    ("conversations", "owner_id"),
    ("messages", "owner_id"),
    ("ai_results", "owner_id"),
    ("send_jobs", "owner_id"),
    ("events", "owner_id"),
    ("send_usage", "owner_id"),
    ("webhook_endpoints", "owner_id"),
    ("webhook_deliveries", "owner_id"),
    ("webhook_delivery_attempts", "owner_id"),
];

/// A tenant with at least one row in every table.
async fn populated_tenant(db: &TestDb, label: &str, n: u32) -> Tenant {
    let store = store(db);
    let tenant = create_tenant(&store, label).await;
    let feature =
        FeatureUpdate { name: FeatureName::parse("auto_reply").unwrap(), enabled: true, config: json!({}) };
    store.put_feature(tenant.id(), feature, at(1)).await.unwrap();
    create_account(&store, tenant.id(), n, &[support::BUSINESS]).await;
    let candidate = support::candidate(tenant.id(), &customer(1), at(2));
    let stored =
        store.store_inbound(candidate, inbound(&format!("SM{label}"), "oi"), 0, at(2)).await.unwrap();
    let result = NewAiResult { kind: "sentiment".into(), model: None, content: json!({}), score: None };
    store.add_ai_result(tenant.id(), stored.message.id, result, at(3)).await.unwrap();
    // An endpoint, registered before the events below, gets a delivery with one attempt.
    let endpoint = NewWebhookEndpoint {
        url: WebhookUrl::parse("https://crm.example/hooks", false).unwrap(),
        event_types: vec![],
        description: None,
        secret: SecretString::new("whsec_c2VjcmV0"),
    };
    store.create_webhook_endpoint(tenant.id(), endpoint, at(1)).await.unwrap();
    store
        .append_message(
            tenant.id(),
            stored.conversation.id,
            outbound("Olá"),
            Some(domain::SendQuota::UNLIMITED),
            at(4),
        )
        .await
        .unwrap();
    support::deliver_once(&store, tenant.id()).await;
    tenant
}

async fn set_tenant(conn: &mut AsyncPgConnection, tenant: &Tenant) {
    conn.batch_execute(&format!("SELECT set_config('app.owner_id', '{}', false)", tenant.id()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_tenant_the_app_role_sees_no_rows() {
    let db = TestDb::new().await;
    populated_tenant(&db, "acme", 1).await;
    let mut app = db.app_connection().await;
    for (table, _) in TENANT_TABLES {
        let sql = format!("SELECT count(*) AS count FROM {table}");
        assert!(db.count(&sql).await > 0, "{table} has rows");
        assert_eq!(count_on(&mut app, &sql).await, 0, "{table} without a tenant");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_can_neither_read_nor_change_nor_add_another_tenants_rows() {
    let db = TestDb::new().await;
    let acme = populated_tenant(&db, "acme", 1).await;
    let beta = populated_tenant(&db, "beta", 2).await;
    let mut app = db.app_connection().await;
    set_tenant(&mut app, &acme).await;

    for (table, tenant_column) in TENANT_TABLES {
        let ours = format!("SELECT count(*) AS count FROM {table} WHERE {tenant_column} = '{}'", acme.id());
        let theirs = format!("SELECT count(*) AS count FROM {table} WHERE {tenant_column} = '{}'", beta.id());
        let all = format!("SELECT count(*) AS count FROM {table}");
        assert!(count_on(&mut app, &ours).await > 0, "{table}: the tenant's own rows");
        assert_eq!(count_on(&mut app, &theirs).await, 0, "{table}: another tenant's rows are invisible");
        assert_eq!(count_on(&mut app, &all).await, count_on(&mut app, &ours).await, "{table}");

        let update = format!(
            "UPDATE {table} SET {tenant_column} = {tenant_column} WHERE {tenant_column} = '{}'",
            beta.id()
        );
        let delete = format!("DELETE FROM {table} WHERE {tenant_column} = '{}'", beta.id());
        if table == "events" {
            // The outbox is append-only for the service: no tenant's events can be changed.
            for write in [&update, &delete] {
                let refused = diesel::sql_query(write).execute(&mut app).await.unwrap_err().to_string();
                assert!(refused.contains("permission denied"), "{table}: {refused}");
            }
        } else if table == "send_usage" {
            // Counts only ever grow for the service; another tenant's are out of its reach.
            assert_eq!(diesel::sql_query(&update).execute(&mut app).await.unwrap(), 0, "{table}: update");
            let refused = diesel::sql_query(&delete).execute(&mut app).await.unwrap_err().to_string();
            assert!(refused.contains("permission denied"), "{table}: {refused}");
        } else {
            assert_eq!(diesel::sql_query(&update).execute(&mut app).await.unwrap(), 0, "{table}: update");
            assert_eq!(diesel::sql_query(&delete).execute(&mut app).await.unwrap(), 0, "{table}: delete");
        }
        assert!(db.count(&theirs).await > 0, "{table}: beta's rows are all still there");
    }

    // Moving one's own row to another tenant is refused by WITH CHECK.
    let hijack = format!("UPDATE features SET owner_id = '{}' WHERE owner_id = '{}'", beta.id(), acme.id());
    let refused = diesel::sql_query(&hijack).execute(&mut app).await.unwrap_err().to_string();
    assert!(refused.contains("row-level security"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inserting_rows_for_another_tenant_violates_the_policy() {
    let db = TestDb::new().await;
    let acme = populated_tenant(&db, "acme", 1).await;
    let beta = populated_tenant(&db, "beta", 2).await;
    let mut app = db.app_connection().await;
    set_tenant(&mut app, &acme).await;

    let (a, b) = (acme.id(), beta.id());
    let inserts = [
        format!("INSERT INTO owners (id, name, email) VALUES ('{b}', 'x', 'x@evil.example')"),
        format!("INSERT INTO features (owner_id, id, name) VALUES ('{b}', gen_random_uuid(), 'evil')"),
        format!(
            "INSERT INTO users (owner_id, id, name, email, role)
             VALUES ('{b}', gen_random_uuid(), 'Mallory', 'mallory@evil.example', 'admin')"
        ),
    ];
    for insert in inserts {
        let error = diesel::sql_query(&insert).execute(&mut app).await.unwrap_err().to_string();
        assert!(error.contains("violates row-level security policy"), "{insert}: {error}");
    }
    let own = format!("INSERT INTO features (owner_id, id, name) VALUES ('{a}', gen_random_uuid(), 'mine')");
    assert_eq!(diesel::sql_query(&own).execute(&mut app).await.unwrap(), 1, "the tenant's own rows are fine");
    assert_eq!(db.count(&format!("SELECT count(*) AS count FROM features WHERE owner_id = '{b}'")).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn turning_row_security_off_does_not_reveal_rows() {
    let db = TestDb::new().await;
    let acme = populated_tenant(&db, "acme", 1).await;
    let beta = populated_tenant(&db, "beta", 2).await;
    let mut app = db.app_connection().await;
    set_tenant(&mut app, &acme).await;
    app.batch_execute("SET row_security = off").await.unwrap();

    for (table, tenant_column) in TENANT_TABLES {
        let theirs = format!("SELECT count(*) AS count FROM {table} WHERE {tenant_column} = '{}'", beta.id());
        let answer = diesel::sql_query(&theirs).get_result::<support::Count>(&mut app).await;
        match answer {
            Err(error) => assert!(error.to_string().contains("row-level security"), "{table}: {error}"),
            Ok(count) => assert_eq!(count.count, 0, "{table}: row_security = off must not reveal rows"),
        }
    }
    let role_switch = app.batch_execute("SET ROLE conversa_maintenance").await;
    assert!(role_switch.is_err(), "the app role cannot become the maintenance role");
}

#[derive(QueryableByName)]
struct RoleFlags {
    #[diesel(sql_type = Bool)]
    rolsuper: bool,
    #[diesel(sql_type = Bool)]
    rolbypassrls: bool,
    #[diesel(sql_type = Bool)]
    rolcreaterole: bool,
}

#[derive(QueryableByName)]
struct TableFlags {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = Bool)]
    relrowsecurity: bool,
    #[diesel(sql_type = Bool)]
    relforcerowsecurity: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_role_is_unprivileged_and_every_tenant_table_forces_row_security() {
    let db = TestDb::new().await;
    let mut app = db.app_connection().await;
    for role in ["conversa_app", "conversa_maintenance"] {
        let flags: RoleFlags = diesel::sql_query(format!(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = '{role}'"
        ))
        .get_result(&mut app)
        .await
        .unwrap();
        assert!(!flags.rolsuper && !flags.rolbypassrls && !flags.rolcreaterole, "{role} is unprivileged");
    }
    let connected_as_app = "SELECT count(*) AS count WHERE current_user = 'conversa_app'";
    assert_eq!(count_on(&mut app, connected_as_app).await, 1);
    let owned_tables = "SELECT count(*) AS count FROM pg_tables WHERE tableowner = 'conversa_app'";
    assert_eq!(count_on(&mut app, owned_tables).await, 0, "the app role owns no table");
    let owned = "SELECT count(*) AS count FROM pg_class WHERE relowner = 'conversa_app'::regrole";
    assert_eq!(count_on(&mut app, owned).await, 0, "nor any other relation");

    for escape in [
        "TRUNCATE messages",
        "ALTER TABLE conversations DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE conversations NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON conversations",
        "CREATE TABLE shadow (id int)",
    ] {
        assert!(app.batch_execute(escape).await.is_err(), "the app role may not `{escape}`");
    }

    let tables: Vec<TableFlags> = diesel::sql_query(
        "SELECT relname::text, relrowsecurity, relforcerowsecurity FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
            AND relname <> '__diesel_schema_migrations' ORDER BY relname",
    )
    .load(&mut app)
    .await
    .unwrap();
    let mut names: Vec<_> = tables.iter().map(|t| t.relname.as_str()).collect();
    let mut expected: Vec<_> = TENANT_TABLES.iter().map(|(t, _)| *t).collect();
    names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(names, expected, "every table is a tenant table");
    for table in &tables {
        assert!(table.relrowsecurity && table.relforcerowsecurity, "{} forces row security", table.relname);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_local_tenant_does_not_outlive_its_transaction() {
    let db = TestDb::new().await;
    let acme = populated_tenant(&db, "acme", 1).await;
    let mut app = db.app_connection().await;

    let inside = app
        .transaction(async |conn| {
            diesel::sql_query(format!("SELECT set_config('app.owner_id', '{}', true)", acme.id()))
                .execute(conn)
                .await?;
            let seen = count_on(conn, "SELECT count(*) AS count FROM conversations").await;
            Ok::<_, diesel::result::Error>(seen)
        })
        .await
        .unwrap();
    assert_eq!(inside, 1, "the tenant sees its conversation inside the transaction");

    assert_eq!(count_on(&mut app, "SELECT count(*) AS count FROM conversations").await, 0, "next statement");
    let next = app
        .transaction(async |conn| {
            Ok::<_, diesel::result::Error>(count_on(conn, "SELECT count(*) AS count FROM messages").await)
        })
        .await
        .unwrap();
    assert_eq!(next, 0, "the next transaction on the same connection has no tenant");
    let setting = "SELECT count(*) AS count WHERE current_setting('app.owner_id', true) = ''";
    assert_eq!(count_on(&mut app, setting).await, 1, "the setting reads '' afterwards, not the tenant");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stores_pooled_connection_forgets_the_tenant_after_each_call() {
    let db = TestDb::new().await;
    let acme = populated_tenant(&db, "acme", 1).await;
    let mut settings = adapters_postgres::PoolSettings::new(db.app_url());
    settings.max_size = 1;
    let store =
        adapters_postgres::PgStore::new(adapters_postgres::build_pool(&settings).unwrap(), support::cipher());

    assert_eq!(store.list_features(acme.id()).await.unwrap().len(), 1, "the call sees the tenant's rows");
    let mut reused = store.pool().get().await.unwrap();
    assert_eq!(count_on(&mut reused, "SELECT count(*) AS count FROM features").await, 0);
    assert_eq!(count_on(&mut reused, "SELECT count(*) AS count FROM conversations").await, 0);
}
