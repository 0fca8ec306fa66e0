//! `src/schema.rs` is written by hand: it must describe exactly what the migrations create.

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use test_db::TestDb;

/// Table → column → diesel type (`Nullable<…>` included), in declaration order per table.
type Columns = BTreeMap<String, BTreeMap<String, String>>;

/// Table → primary key columns, in order.
type PrimaryKeys = BTreeMap<String, Vec<String>>;

/// Reads the `diesel::table!` blocks of `schema.rs`.
fn parse_schema_rs(source: &str) -> (Columns, PrimaryKeys) {
    let mut columns = Columns::new();
    let mut keys = PrimaryKeys::new();
    let mut lines = source.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let header = lines.next().expect("a table header after `diesel::table! {`");
        let (name, rest) = header.split_once(' ').expect("`name (keys) {`");
        let key_list = rest.trim_start_matches('(').split_once(')').expect("primary key list").0;
        keys.insert(name.to_owned(), key_list.split(',').map(|k| k.trim().to_owned()).collect());
        let table = columns.entry(name.to_owned()).or_default();
        while let Some(line) = lines.next() {
            if line == "}" {
                break;
            }
            // `#[sql_name = "type"]` names the next line's column in the database.
            let renamed = line.strip_prefix("#[sql_name = \"").and_then(|rest| rest.strip_suffix("\"]"));
            let line = match renamed {
                Some(sql_name) => {
                    let next = lines.next().expect("a column after #[sql_name]");
                    let (_, sql_type) =
                        next.split_once("->").unwrap_or_else(|| panic!("column line `{next}`"));
                    let previous =
                        table.insert(sql_name.to_owned(), sql_type.trim().trim_end_matches(',').to_owned());
                    assert!(previous.is_none(), "{name}.{sql_name} declared twice");
                    continue;
                }
                None => line,
            };
            let (column, sql_type) = line.split_once("->").unwrap_or_else(|| panic!("column line `{line}`"));
            let previous =
                table.insert(column.trim().to_owned(), sql_type.trim().trim_end_matches(',').to_owned());
            assert!(previous.is_none(), "{name}.{} declared twice", column.trim());
        }
        assert_eq!(lines.next(), Some("}"), "`diesel::table!` block of {name} closes");
    }
    (columns, keys)
}

fn diesel_type(udt_name: &str) -> String {
    match udt_name {
        "uuid" => "Uuid",
        "text" => "Text",
        "bool" => "Bool",
        "timestamptz" => "Timestamptz",
        "jsonb" => "Jsonb",
        "int4" => "Int4",
        "int8" => "Int8",
        "float8" => "Float8",
        "bytea" => "Bytea",
        "date" => "Date",
        "_text" => "Array<Text>",
        other => panic!("no diesel type mapped for PostgreSQL type `{other}`: extend the test"),
    }
    .to_owned()
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

async fn database_schema(db: &TestDb) -> (Columns, PrimaryKeys) {
    let mut conn = db.owner_connection().await;
    let rows: Vec<ColumnRow> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
          ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .await
    .expect("read information_schema.columns");
    let mut columns = Columns::new();
    for row in rows {
        let base = diesel_type(&row.udt_name);
        let sql_type = if row.is_nullable == "YES" { format!("Nullable<{base}>") } else { base };
        columns.entry(row.table_name).or_default().insert(row.column_name, sql_type);
    }
    let rows: Vec<KeyRow> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name
           FROM pg_constraint k
           JOIN pg_class c ON c.oid = k.conrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
           CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS key(attnum, position)
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = key.attnum
          WHERE k.contype = 'p' AND c.relname <> '__diesel_schema_migrations'
          ORDER BY c.relname, key.position",
    )
    .load(&mut conn)
    .await
    .expect("read primary keys");
    let mut keys = PrimaryKeys::new();
    for row in rows {
        keys.entry(row.table_name).or_default().push(row.column_name);
    }
    (columns, keys)
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_matches_the_migrated_database() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/schema.rs"))
        .expect("read src/schema.rs");
    let (declared, declared_keys) = parse_schema_rs(&source);
    let db = TestDb::new().await;
    let (actual, actual_keys) = database_schema(&db).await;

    assert_eq!(declared.len(), 14, "schema.rs declares the fourteen tables");
    for (table, columns) in &actual {
        let Some(declared_columns) = declared.get(table) else {
            panic!("table {table} exists in the database but not in schema.rs");
        };
        for (column, sql_type) in columns {
            assert_eq!(
                declared_columns.get(column),
                Some(sql_type),
                "{table}.{column}: schema.rs must declare it as `{sql_type}`"
            );
        }
    }
    for (table, columns) in &declared {
        let Some(actual_columns) = actual.get(table) else {
            panic!("table {table} is in schema.rs but not in the database");
        };
        for column in columns.keys() {
            assert!(
                actual_columns.contains_key(column),
                "{table}.{column} is in schema.rs but not in the database"
            );
        }
    }
    assert_eq!(declared, actual);
    assert_eq!(declared_keys, actual_keys, "primary keys of schema.rs and the database");
}

#[test]
fn the_parser_reads_types_nullability_and_keys() {
    let source = "diesel::table! {\n    t (a, b) {\n        a -> Uuid,\n        b -> Nullable<Array<Text>>,\n    }\n}\n";
    let (columns, keys) = parse_schema_rs(source);
    assert_eq!(columns["t"]["a"], "Uuid");
    assert_eq!(columns["t"]["b"], "Nullable<Array<Text>>");
    assert_eq!(keys["t"], ["a", "b"]);
}
