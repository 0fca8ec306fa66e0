//! One fresh database per test, so integration tests run in parallel against a real
//! PostgreSQL without seeing each other's rows.
//!
//! The first test of a run migrates a template database (named after a hash of the
//! migrations, so a changed migration gets a new template) under an advisory lock; every test
//! then gets `CREATE DATABASE … TEMPLATE` (cheap) and drops it `WITH (FORCE)` when done.
//! `DATABASE_URL` must name a role that may create databases (`scripts/with-db` provides one).

use std::time::Duration;

use adapters_postgres::run_migrations;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use url::Url;

/// The application role created by the migrations.
pub const APP_ROLE: &str = "conversa_app";

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    admin_url: Url,
    name: String,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

fn admin_url() -> Url {
    let raw = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run the tests through `scripts/test` (it provisions PostgreSQL)")
    });
    Url::parse(&raw).unwrap_or_else(|e| panic!("DATABASE_URL is not a URL: {e}"))
}

fn with_database(url: &Url, database: &str) -> Url {
    let mut url = url.clone();
    url.set_path(&format!("/{database}"));
    url
}

async fn connect(url: &Url) -> AsyncPgConnection {
    AsyncPgConnection::establish(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

fn template_name() -> String {
    let mut hasher = Sha256::new();
    let mut dirs: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        hasher.update(dir.file_name().unwrap_or_default().as_encoded_bytes());
        for file in ["up.sql", "down.sql"] {
            if let Ok(sql) = std::fs::read(dir.join(file)) {
                hasher.update(sql);
            }
        }
    }
    format!("conversa_tpl_{}", &hex::encode(hasher.finalize())[..16])
}

async fn ensure_template(admin: &Url) -> String {
    let name = template_name();
    let mut conn = connect(admin).await;
    // Serialises template creation across the test binaries running at once.
    sql_query("SELECT pg_advisory_lock(7243001)").execute(&mut conn).await.expect("advisory lock");
    let exists: Exists = sql_query("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(&name)
        .get_result(&mut conn)
        .await
        .expect("query pg_database");
    if !exists.exists {
        let building = format!("{name}_building");
        sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop");
        sql_query(format!("CREATE DATABASE {building}")).execute(&mut conn).await.expect("create template");
        run_migrations(with_database(admin, &building).as_str()).await.expect("migrate the template");
        sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut conn)
            .await
            .expect("rename");
    }
    sql_query("SELECT pg_advisory_unlock(7243001)").execute(&mut conn).await.expect("advisory unlock");
    name
}

impl TestDb {
    /// A new database cloned from the migrated template.
    ///
    /// # Panics
    /// When PostgreSQL is not reachable: integration tests need it and must not pass without.
    pub async fn new() -> Self {
        let admin = admin_url();
        let template = TEMPLATE.get_or_init(|| ensure_template(&admin)).await;
        let name = format!("conversa_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = connect(&admin).await;
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
            .expect("create test db");
        Self { admin_url: admin, name }
    }

    /// URL of the schema owner (migrations, test setup that bypasses the ports).
    #[must_use]
    pub fn owner_url(&self) -> String {
        with_database(&self.admin_url, &self.name).to_string()
    }

    /// URL of the application role: what the service connects as.
    #[must_use]
    pub fn app_url(&self) -> String {
        let mut url = with_database(&self.admin_url, &self.name);
        url.set_username(APP_ROLE).expect("a URL with a host");
        url.set_password(None).expect("a URL with a host");
        url.to_string()
    }

    /// A connection as the application role.
    pub async fn app_connection(&self) -> AsyncPgConnection {
        connect(&Url::parse(&self.app_url()).expect("url")).await
    }

    /// A connection as the schema owner.
    pub async fn owner_connection(&self) -> AsyncPgConnection {
        connect(&Url::parse(&self.owner_url()).expect("url")).await
    }

    /// Runs `sql` (one or more statements) as the owner: setup or damage that bypasses the
    /// service, as an operator with `psql` could do.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.owner_connection().await;
        conn.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs `sql` as the owner on the server's own database (`DATABASE_URL`'s), for what
    /// cannot run inside this one, such as renaming it.
    pub async fn execute_on_server(&self, sql: &str) {
        let mut conn = connect(&self.admin_url).await;
        conn.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counts rows with `sql` (which must select one `bigint` named `count`) as the owner.
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        let mut conn = self.owner_connection().await;
        sql_query(sql).get_result::<Count>(&mut conn).await.expect("count query").count
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a private one on a plain thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = tokio::time::timeout(
                    Duration::from_secs(10),
                    AsyncPgConnection::establish(admin.as_str()),
                )
                .await
                .ok()?
                .ok()?;
                sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("test-db: could not drop database {}", self.name);
        }
    }
}
