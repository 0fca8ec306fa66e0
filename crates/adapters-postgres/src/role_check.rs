//! The start-up check of the application role: tenant isolation rests on `conversa_app` being
//! an ordinary role that cannot bypass row-level security and owns nothing it could change the
//! policies of. A deployment that connects as a superuser (or forgot `FORCE` on a new table)
//! would serve with the second wall gone and no symptom, so `serve` refuses instead.

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;
use ports::StoreError;

use crate::{PgStore, error};

/// One thing wrong with the role the service connects as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleProblem {
    /// The role is a superuser: row-level security does not apply to it.
    Superuser { role: String },
    /// The role has `BYPASSRLS`.
    BypassesRls { role: String },
    /// The role owns this table (or is a member of its owner): it could disable its policies.
    OwnsTable { role: String, table: String },
    /// This table of the schema has row-level security off or not forced.
    RlsNotForced { table: String },
}

impl std::fmt::Display for RoleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Superuser { role } => write!(f, "role {role} is a superuser"),
            Self::BypassesRls { role } => write!(f, "role {role} has BYPASSRLS"),
            Self::OwnsTable { role, table } => write!(f, "role {role} owns table {table}"),
            Self::RlsNotForced { table } => {
                write!(f, "table {table} does not have row-level security enabled and forced")
            }
        }
    }
}

/// Why the check did not pass.
#[derive(Debug, thiserror::Error)]
pub enum RoleCheckError {
    /// The role or the schema is unsafe to serve with; every problem is named.
    #[error("refusing to serve: {}", join(.0))]
    Refused(Vec<RoleProblem>),
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn join(problems: &[RoleProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[derive(QueryableByName)]
struct RoleRow {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    superuser: bool,
    #[diesel(sql_type = Bool)]
    bypass_rls: bool,
}

#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Bool)]
    owned: bool,
    #[diesel(sql_type = Bool)]
    forced: bool,
}

/// The role's attributes.
const ROLE: &str = "SELECT rolname::text AS role, rolsuper AS superuser, rolbypassrls AS bypass_rls \
                    FROM pg_roles WHERE rolname = current_user";

/// Every table of the application's schema (all of them hold tenant data, except diesel's
/// ledger of applied migrations), with whether the role owns it (directly or through a role
/// it belongs to) and whether its row-level security is enabled and forced.
const TABLES: &str = "SELECT c.relname::text AS table, \
                             pg_has_role(current_user, c.relowner, 'MEMBER') AS owned, \
                             (c.relrowsecurity AND c.relforcerowsecurity) AS forced \
                        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
                         AND c.relname <> '__diesel_schema_migrations' \
                       ORDER BY c.relname";

impl PgStore {
    /// Checks that the role this store connects as is fit to serve tenants: not a superuser,
    /// no `BYPASSRLS`, owner of no table, and every table under forced row-level security.
    ///
    /// # Errors
    /// [`RoleCheckError::Refused`] naming every problem; [`RoleCheckError::Store`] when the
    /// database cannot be asked.
    pub async fn check_application_role(&self) -> Result<(), RoleCheckError> {
        let mut conn = self.conn().await?;
        let role: RoleRow = diesel::sql_query(ROLE).get_result(&mut conn).await.map_err(error::map_diesel)?;
        let tables: Vec<TableRow> =
            diesel::sql_query(TABLES).load(&mut conn).await.map_err(error::map_diesel)?;
        let problems = problems(&role, &tables);
        if problems.is_empty() { Ok(()) } else { Err(RoleCheckError::Refused(problems)) }
    }
}

fn problems(role: &RoleRow, tables: &[TableRow]) -> Vec<RoleProblem> {
    let name = || role.role.clone();
    let mut problems = Vec::new();
    if role.superuser {
        problems.push(RoleProblem::Superuser { role: name() });
    }
    if role.bypass_rls {
        problems.push(RoleProblem::BypassesRls { role: name() });
    }
    for table in tables {
        // A superuser is a member of every role; its ownership says nothing more.
        if table.owned && !role.superuser {
            problems.push(RoleProblem::OwnsTable { role: name(), table: table.table.clone() });
        }
        if !table.forced {
            problems.push(RoleProblem::RlsNotForced { table: table.table.clone() });
        }
    }
    problems
}
