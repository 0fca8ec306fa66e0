//! The start-up check of the role the service connects as: the migrated `conversa_app` passes;
//! a superuser, a role with `BYPASSRLS`, a role owning a table, or a table without forced
//! row-level security is refused, each named.

mod support;

use adapters_postgres::{RoleCheckError, RoleProblem};
use support::{cipher, store, store_with};
use test_db::{APP_ROLE, TestDb};

fn refused(result: Result<(), RoleCheckError>) -> Vec<RoleProblem> {
    match result {
        Err(RoleCheckError::Refused(problems)) => problems,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_migrated_application_role_passes() {
    let db = TestDb::new().await;
    store(&db).check_application_role().await.expect("conversa_app is fit to serve");
}

#[tokio::test]
async fn a_superuser_is_refused() {
    let db = TestDb::new().await;
    let superuser =
        db.count("SELECT count(*) AS count FROM pg_roles WHERE rolname = current_user AND rolsuper").await;
    assert_eq!(superuser, 1, "the tests' schema owner is expected to be a superuser");

    let problems = refused(store_with(&db.owner_url(), cipher()).check_application_role().await);
    // (A superuser has BYPASSRLS too, named as well.)
    let Some(RoleProblem::Superuser { role }) = problems.first() else {
        panic!("expected the superuser problem first: {problems:?}");
    };
    let message = RoleCheckError::Refused(problems.clone()).to_string();
    assert!(message.contains(&format!("role {role} is a superuser")), "{message}");
}

#[tokio::test]
async fn a_role_with_bypassrls_is_refused() {
    let db = TestDb::new().await;
    // Roles are cluster-wide: a name of this test's own, removed at the end.
    let role = format!("conversa_bypass_{}", uuid::Uuid::now_v7().simple());
    db.execute(&format!("CREATE ROLE {role} LOGIN BYPASSRLS")).await;
    let url = db.app_url().replacen(&format!("//{APP_ROLE}@"), &format!("//{role}@"), 1);
    assert_ne!(url, db.app_url());

    let result = store_with(&url, cipher()).check_application_role().await;
    db.execute(&format!("DROP ROLE {role}")).await;
    assert_eq!(refused(result), [RoleProblem::BypassesRls { role }]);
}

#[tokio::test]
async fn a_role_that_owns_a_table_is_refused_naming_it() {
    let db = TestDb::new().await;
    db.execute(&format!(
        "CREATE TABLE notes (owner_id uuid PRIMARY KEY);
             ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
             ALTER TABLE notes FORCE ROW LEVEL SECURITY;
             ALTER TABLE notes OWNER TO {APP_ROLE}"
    ))
    .await;
    let problems = refused(store(&db).check_application_role().await);
    assert_eq!(problems, [RoleProblem::OwnsTable { role: APP_ROLE.to_owned(), table: "notes".to_owned() }]);
}

#[tokio::test]
async fn a_table_without_forced_row_level_security_is_refused_naming_it() {
    let db = TestDb::new().await;
    db.execute(
        "ALTER TABLE messages NO FORCE ROW LEVEL SECURITY;
         CREATE TABLE notes (owner_id uuid PRIMARY KEY);
         GRANT SELECT ON notes TO conversa_app",
    )
    .await;
    let problems = refused(store(&db).check_application_role().await);
    assert_eq!(
        problems,
        [
            RoleProblem::RlsNotForced { table: "messages".to_owned() },
            RoleProblem::RlsNotForced { table: "notes".to_owned() }
        ]
    );
    let message = RoleCheckError::Refused(problems).to_string();
    assert!(message.contains("table notes does not have row-level security enabled and forced"), "{message}");
}
