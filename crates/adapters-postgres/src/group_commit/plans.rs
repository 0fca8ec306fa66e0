//! The batch statements' plans, checked where they are weakest: on a new database.
//!
//! A batch transaction runs its statements with generic plans (see [`super::scope_batch`]),
//! made at a connection's first execution and kept until the tables' statistics change. On a
//! database no ANALYZE has seen yet, PostgreSQL estimates that row-level security's
//! `owner_id = <tenant>` matches about one row, so a join on a key could be planned as a read
//! of all of the tenant's rows, filtered, and stay so on that connection until autovacuum's
//! first ANALYZE. The statements look rows up by key in LATERAL subqueries instead; these
//! tests hold them to it.
//!
//! What they accept: an index scan whose condition covers the index's leading two columns (the
//! tenant and the key after it), or the table's whole primary key. The second is as far as a
//! statement can go: before the first ANALYZE, PostgreSQL may still serve a lookup by
//! `(owner_id, id)` from a longer index that holds both (`conversations_status_page_idx`,
//! `messages_conversation_page_idx`), walking the tenant's entries of that index, and nothing in
//! a query pins the primary key instead.

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{Array, Json, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;
use test_db::TestDb;

#[derive(QueryableByName)]
struct Explained {
    #[diesel(sql_type = Json, column_name = "QUERY PLAN")]
    plan: Value,
}

/// An index: its table, its columns and the table's primary key columns.
#[derive(QueryableByName)]
struct IndexShape {
    #[diesel(sql_type = Text)]
    relation: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    primary_key: Vec<String>,
}

/// The tables the webhook's statements read by key.
const KEYED_TABLES: [&str; 3] = ["conversations", "messages", "ai_results"];

/// Asserts that `statement`'s generic plan, made on a new database as the application role,
/// reads each of [`KEYED_TABLES`] by key (see the module documentation): never sequentially,
/// never by the tenant alone. `types` are its parameters' types, in order.
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
    let plan = &explained.plan;
    let mut reads = Vec::new();
    collect_reads(plan, &mut reads);
    let mut keyed_reads = 0;
    for read in reads {
        match read {
            Read::Sequential(relation) => {
                assert!(!KEYED_TABLES.contains(&relation.as_str()), "{relation} is read whole: {plan:#}");
            }
            Read::Index { index, condition } => {
                let shape = index_shape(&mut conn, &index).await;
                if !KEYED_TABLES.contains(&shape.relation.as_str()) {
                    continue;
                }
                keyed_reads += 1;
                let constrained = |column: &String| {
                    condition.contains(&format!("({column} ")) || condition.contains(&format!("({column})"))
                };
                let leading = shape.columns.iter().take(2).all(constrained);
                let primary_key = shape.primary_key.iter().all(constrained);
                assert!(
                    leading || primary_key,
                    "{} is read through {index} by less than a key ({condition}): {plan:#}",
                    shape.relation
                );
            }
        }
    }
    assert!(keyed_reads > 0, "the plan reads no keyed table: {plan:#}");
}

/// A read of a table in a plan.
enum Read {
    /// A sequential scan of the table.
    Sequential(String),
    /// A scan of an index (index, index-only or bitmap), with its condition ("" for none).
    Index { index: String, condition: String },
}

/// Every read of a table in `plan`.
fn collect_reads(plan: &Value, reads: &mut Vec<Read>) {
    match plan {
        Value::Array(items) => items.iter().for_each(|item| collect_reads(item, reads)),
        Value::Object(node) => {
            let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_owned);
            if let Some(index) = text("Index Name") {
                reads.push(Read::Index { index, condition: text("Index Cond").unwrap_or_default() });
            } else if text("Node Type").as_deref() == Some("Seq Scan")
                && let Some(relation) = text("Relation Name")
            {
                reads.push(Read::Sequential(relation));
            }
            node.values().for_each(|value| collect_reads(value, reads));
        }
        _ => {}
    }
}

async fn index_shape(conn: &mut AsyncPgConnection, index: &str) -> IndexShape {
    diesel::sql_query(
        "SELECT i.indrelid::regclass::text AS relation,
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                       ORDER BY k.n) AS columns,
                ARRAY(SELECT a.attname::text FROM pg_index p
                       CROSS JOIN LATERAL unnest(p.indkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = p.indrelid AND a.attnum = k.attnum
                       WHERE p.indrelid = i.indrelid AND p.indisprimary ORDER BY k.n) AS primary_key
           FROM pg_index i
          WHERE i.indexrelid = $1::regclass",
    )
    .bind::<Text, _>(index)
    .get_result(conn)
    .await
    .unwrap_or_else(|e| panic!("the shape of index {index}: {e}"))
}
