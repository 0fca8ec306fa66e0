//! The migrations themselves: every `down.sql` undoes its `up.sql` exactly, every foreign key
//! is backed by an index, and every table, column and function is documented with a COMMENT.

use adapters_postgres::{revert_all_migrations, run_migrations};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use test_db::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

async fn lines(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    let rows: Vec<Line> = diesel::sql_query(sql).load(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|row| row.line).collect()
}

/// Everything the migrations create in `public`, one line per object, sorted.
const SNAPSHOT: &[&str] = &[
    "SELECT format('column %s.%s %s %s default %s', table_name, column_name, udt_name, is_nullable,
                   coalesce(column_default, '-')) AS line
       FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1",
    "SELECT format('index %s', indexdef) AS line FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS line
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT format('policy %s.%s %s %s %s %s', tablename, policyname, roles, cmd, qual, with_check) AS line
       FROM pg_policies WHERE schemaname = 'public' ORDER BY 1",
    "SELECT format('rls %s %s %s', relname, relrowsecurity, relforcerowsecurity) AS line
       FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    "SELECT format('function %s owner %s secdef %s acl %s config %s: %s', p.oid::regprocedure,
                   pg_get_userbyid(p.proowner), p.prosecdef, p.proacl, p.proconfig, p.prosrc) AS line
       FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT format('trigger %s on %s', tgname, tgrelid::regclass) AS line
       FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
    "SELECT format('grant %s %s %s', grantee, table_name, privilege_type) AS line
       FROM information_schema.role_table_grants
      WHERE table_schema = 'public' AND grantee IN ('conversa_app', 'conversa_maintenance') ORDER BY 1",
    "SELECT format('comment %s', d.description) AS line FROM pg_description d
       JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
      WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1",
];

/// How many migrations `migrations/` holds (one directory each).
fn migration_count() -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    entries.filter(|entry| entry.as_ref().is_ok_and(|e| e.path().join("up.sql").is_file())).count()
}

async fn snapshot(conn: &mut AsyncPgConnection) -> Vec<String> {
    let mut all = Vec::new();
    for sql in SNAPSHOT {
        all.extend(lines(conn, sql).await);
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_reverts_and_reapplies_to_the_same_schema() {
    let db = TestDb::new().await;
    let before = snapshot(&mut db.owner_connection().await).await;
    assert!(before.iter().any(|l| l.starts_with("policy conversations.tenant_isolation")), "{before:#?}");

    revert_all_migrations(&db.owner_url()).await.expect("every down.sql runs");
    let mut conn = db.owner_connection().await;
    let left = lines(
        &mut conn,
        "SELECT relname::text AS line FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'S')
            AND relname <> '__diesel_schema_migrations'
         UNION ALL
         SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
         UNION ALL
         SELECT 'grant on schema public to ' || pg_get_userbyid(acl.grantee)
           FROM pg_namespace n, aclexplode(n.nspacl) AS acl
          WHERE n.nspname = 'public'
            AND pg_get_userbyid(acl.grantee) IN ('conversa_app', 'conversa_maintenance')",
    )
    .await;
    assert_eq!(left, Vec::<String>::new(), "the down migrations leave nothing behind");
    assert_eq!(db.count("SELECT count(*) AS count FROM __diesel_schema_migrations").await, 0);
    drop(conn);

    let applied = run_migrations(&db.owner_url()).await.expect("every up.sql runs again");
    assert_eq!(applied.len(), migration_count(), "every migration applied again: {applied:?}");
    let after = snapshot(&mut db.owner_connection().await).await;
    assert_eq!(before, after, "down then up restores the schema exactly");
    assert_eq!(run_migrations(&db.owner_url()).await.expect("nothing pending"), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_foreign_key_has_an_index_led_by_its_columns() {
    let db = TestDb::new().await;
    let mut conn = db.owner_connection().await;
    let foreign_keys = lines(
        &mut conn,
        "SELECT format('%s.%s indexed=%s', c.conrelid::regclass, c.conname, EXISTS (
                    SELECT FROM pg_index i
                     WHERE i.indrelid = c.conrelid
                       AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
                       AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey
                       AND i.indpred IS NULL)::text) AS line
           FROM pg_constraint c
          WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          ORDER BY 1",
    )
    .await;
    assert_eq!(foreign_keys.len(), 15, "{foreign_keys:#?}");
    assert!(
        foreign_keys.iter().all(|fk| fk.ends_with("=true") || fk.ends_with("=false")),
        "{foreign_keys:#?}"
    );
    let unindexed: Vec<_> = foreign_keys.iter().filter(|fk| fk.ends_with("indexed=false")).collect();
    assert!(unindexed.is_empty(), "foreign keys without an index led by their columns: {unindexed:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_table_column_and_function_has_a_comment() {
    let db = TestDb::new().await;
    let mut conn = db.owner_connection().await;
    let tables = lines(
        &mut conn,
        "SELECT relname::text AS line FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
            AND relname <> '__diesel_schema_migrations'",
    )
    .await;
    assert_eq!(tables.len(), 14, "{tables:?}");
    let undocumented = lines(
        &mut conn,
        "SELECT 'table ' || c.relname AS line FROM pg_class c
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            AND c.relname <> '__diesel_schema_migrations'
            AND coalesce(btrim(obj_description(c.oid, 'pg_class')), '') = ''
         UNION ALL
         SELECT 'column ' || c.relname || '.' || a.attname FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            AND c.relname <> '__diesel_schema_migrations' AND a.attnum > 0 AND NOT a.attisdropped
            AND coalesce(btrim(col_description(c.oid, a.attnum)), '') = ''
         UNION ALL
         SELECT 'function ' || p.oid::regprocedure FROM pg_proc p
          WHERE p.pronamespace = 'public'::regnamespace
            AND coalesce(btrim(obj_description(p.oid, 'pg_proc')), '') = ''
         ORDER BY 1",
    )
    .await;
    assert!(undocumented.is_empty(), "objects without a COMMENT: {undocumented:#?}");
}
