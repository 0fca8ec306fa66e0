//! The batch statements' plans, checked where they are weakest: on a new database.
//!
//! A batch transaction runs its statements with generic plans (see [`super::scope_batch`]),
//! made at a connection's first execution and kept until the tables' statistics change. On a
//! database no ANALYZE has seen yet, PostgreSQL estimates that row-level security's
//! `owner_id = <tenant>` matches about one row, so a join on a key could be planned as a read
//! of all of the tenant's rows, filtered, and stay so on that connection until autovacuum's
//! first ANALYZE. The statements look rows up by key in LATERAL subqueries instead; these
//! tests hold them to it.

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::Json;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;
use test_db::TestDb;

#[derive(QueryableByName)]
struct Explained {
    #[diesel(sql_type = Json, column_name = "QUERY PLAN")]
    plan: Value,
}

/// The tables the webhook's statements read by key.
const KEYED_TABLES: [&str; 3] = ["conversations", "messages", "ai_results"];

/// Asserts that `statement`'s generic plan, made on a new database as the application role,
/// reads each of [`KEYED_TABLES`] by more than the tenant: never without an index condition (a
/// sequential or a whole-index scan), never by row-level security's condition alone. `types` are its parameters' types,
/// in order.
pub(super) async fn assert_reads_by_key(statement: &impl QueryFragment<Pg>, types: &[&str]) {
    let db = TestDb::new().await;
    let mut conn = AsyncPgConnection::establish(&db.app_url()).await.expect("PostgreSQL answers");
    let text = diesel::debug_query::<Pg, _>(statement).to_string();
    let sql = text.split(" -- binds:").next().expect("the statement's text");
    let nulls = vec!["NULL"; types.len()].join(", ");
    conn.batch_execute(&format!(
        "SELECT set_config('app.owner_id', '{}', false);
         SET plan_cache_mode = force_generic_plan;
         PREPARE checked({}) AS {sql}",
        uuid::Uuid::now_v7(),
        types.join(", ")
    ))
    .await
    .expect("the statement prepares");
    let explained: Explained = diesel::sql_query(format!("EXPLAIN (FORMAT JSON) EXECUTE checked({nulls})"))
        .get_result(&mut conn)
        .await
        .expect("EXPLAIN answers");
    let mut scans = Vec::new();
    collect_scans(&explained.plan, &mut scans);
    assert!(!scans.is_empty(), "the plan reads no keyed table: {:#}", explained.plan);
    for (node, relation, condition) in scans {
        let whole = condition.is_empty();
        assert!(!whole, "{relation} is read whole ({node}): {:#}", explained.plan);
        let tenant_only =
            condition.contains("current_setting('app.owner_id'") && !condition.contains(" AND ");
        assert!(!tenant_only, "{relation} is read by tenant only ({condition}): {:#}", explained.plan);
    }
}

/// Every scan of a [`KEYED_TABLES`] table in `plan`: node type, table and the condition it reads
/// by (an index scan's, or a bitmap heap scan's; none for a sequential or whole-index scan).
fn collect_scans(plan: &Value, scans: &mut Vec<(String, String, String)>) {
    match plan {
        Value::Array(items) => items.iter().for_each(|item| collect_scans(item, scans)),
        Value::Object(node) => {
            if let Some(relation) = node.get("Relation Name").and_then(Value::as_str)
                && KEYED_TABLES.contains(&relation)
                && let Some(kind) = node.get("Node Type").and_then(Value::as_str)
                && kind.ends_with("Scan")
            {
                let condition = ["Index Cond", "Recheck Cond"]
                    .iter()
                    .find_map(|key| node.get(*key).and_then(Value::as_str))
                    .unwrap_or_default();
                scans.push((kind.to_owned(), relation.to_owned(), condition.to_owned()));
            }
            node.values().for_each(|value| collect_scans(value, scans));
        }
        _ => {}
    }
}
